"""S3 storage through boto3: AWS itself, or any S3-compatible server (path-style addressing).

Credentials come from boto3's usual chain: AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY
(/ AWS_SESSION_TOKEN), AWS_PROFILE, or an instance / task role. They are never read from
the portal's own configuration.

Presigned links are bearer credentials for a minute: this module never logs one, and it
stops botocore's signer from writing signatures into a DEBUG log.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any, BinaryIO

import boto3
from boto3.exceptions import Boto3Error
from boto3.s3.transfer import TransferConfig
from botocore.config import Config as BotoConfig
from botocore.exceptions import BotoCoreError, ClientError

from portal.storage import StorageError, attachment_disposition, serving_type

log = logging.getLogger(__name__)

_MB = 1024 * 1024


class _DropSigningDetails(logging.Filter):
    """botocore.auth logs the canonical request, string to sign and signature at DEBUG.
    For a presigned URL the signature *is* the secret, so those records never leave."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno > logging.DEBUG


_signing_filter = _DropSigningDetails()


def _quiet_signer() -> None:
    signer_log = logging.getLogger("botocore.auth")
    if _signing_filter not in signer_log.filters:
        signer_log.addFilter(_signing_filter)


def _reason(exc: Exception) -> str:
    """A short, readable reason from a botocore / boto3 error (never a URL with a query)."""
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        code = error.get("Code") or exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        message = error.get("Message") or ""
        return f"{code} {message}".strip()
    cause = exc.__cause__ or exc.__context__
    if isinstance(exc, Boto3Error) and isinstance(cause, ClientError | BotoCoreError):
        return _reason(cause)
    return str(exc) or exc.__class__.__name__


class S3Storage:
    def __init__(
        self,
        bucket: str,
        *,
        endpoint_url: str | None = None,
        region: str | None = None,
        access_key_id: str | None = None,
        secret_access_key: str | None = None,
        session_token: str | None = None,
        connect_timeout: float = 5,
        read_timeout: float = 60,
        max_attempts: int = 3,
    ):
        if not bucket:
            raise RuntimeError("STORAGE_BACKEND=s3 needs S3_BUCKET")
        self.bucket = bucket
        self.endpoint_url = endpoint_url
        _quiet_signer()
        session = boto3.session.Session(
            aws_access_key_id=access_key_id,
            aws_secret_access_key=secret_access_key,
            aws_session_token=session_token,
            region_name=region,
        )
        self.client = session.client(
            "s3",
            endpoint_url=endpoint_url or None,
            config=BotoConfig(
                signature_version="s3v4",
                s3={"addressing_style": "path"},
                # boto3 >= 1.36 adds CRC32 checksums that S3-compatible servers may reject.
                request_checksum_calculation="when_required",
                response_checksum_validation="when_required",
                connect_timeout=connect_timeout,
                read_timeout=read_timeout,
                retries={"max_attempts": max_attempts, "mode": "standard"},
            ),
        )
        self.transfer_config = TransferConfig(
            multipart_threshold=16 * _MB, multipart_chunksize=8 * _MB, max_concurrency=4
        )

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> S3Storage:
        return cls(
            config.get("S3_BUCKET") or "",
            endpoint_url=config.get("S3_ENDPOINT_URL"),
            region=config.get("S3_REGION"),
            connect_timeout=config.get("S3_CONNECT_TIMEOUT", 5),
            read_timeout=config.get("S3_READ_TIMEOUT", 60),
            max_attempts=config.get("S3_MAX_ATTEMPTS", 3),
        )

    def __repr__(self) -> str:
        return f"<S3Storage {self.endpoint_url or 'aws'} bucket={self.bucket}>"

    def _fail(self, action: str, key: str | None, exc: Exception) -> StorageError:
        where = f"s3://{self.bucket}/{key}" if key else f"bucket {self.bucket}"
        target = f" at {self.endpoint_url}" if self.endpoint_url else ""
        return StorageError(f"S3 {action} failed for {where}{target}: {_reason(exc)}")

    def put(self, key: str, fileobj: BinaryIO, content_type: str, size: int) -> None:
        try:
            self.client.upload_fileobj(
                fileobj,
                self.bucket,
                key,
                ExtraArgs={
                    "ContentType": serving_type(content_type),
                    # No name here: the original name lives in the database only.
                    "ContentDisposition": "attachment",
                },
                Config=self.transfer_config,
            )
        except (BotoCoreError, ClientError, Boto3Error) as exc:
            raise self._fail("upload", key, exc) from exc

    def open(self, key: str) -> BinaryIO:
        try:
            return self.client.get_object(Bucket=self.bucket, Key=key)["Body"]
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in {"NoSuchKey", "404"}:
                raise StorageError("file not found in storage") from exc
            raise self._fail("download", key, exc) from exc
        except BotoCoreError as exc:
            raise self._fail("download", key, exc) from exc

    def delete(self, key: str) -> None:
        try:
            self.client.delete_object(Bucket=self.bucket, Key=key)
        except (BotoCoreError, ClientError) as exc:
            raise self._fail("delete", key, exc) from exc

    def exists(self, key: str) -> bool:
        try:
            self.client.head_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            if status == 404 or exc.response.get("Error", {}).get("Code") in {"404", "NoSuchKey"}:
                return False
            raise self._fail("lookup", key, exc) from exc
        except BotoCoreError as exc:
            raise self._fail("lookup", key, exc) from exc
        return True

    def presigned_url(self, key: str, filename: str, content_type: str, expires: int) -> str:
        """A GET link valid for `expires` seconds that makes the browser save the file
        under its original name with its stored type. Do not log the result."""
        try:
            return self.client.generate_presigned_url(
                "get_object",
                Params={
                    "Bucket": self.bucket,
                    "Key": key,
                    "ResponseContentDisposition": attachment_disposition(filename),
                    "ResponseContentType": serving_type(content_type),
                },
                ExpiresIn=int(expires),
                HttpMethod="GET",
            )
        except (BotoCoreError, ClientError) as exc:
            raise self._fail("link signing", key, exc) from exc

    def check(self) -> None:
        try:
            self.client.head_bucket(Bucket=self.bucket)
        except (BotoCoreError, ClientError) as exc:
            raise self._fail("bucket check", None, exc) from exc

    def create_bucket(self) -> None:
        """Create the bucket if it is missing (development and tests)."""
        try:
            self.client.head_bucket(Bucket=self.bucket)
            return
        except ClientError:
            pass
        except BotoCoreError as exc:
            raise self._fail("bucket check", None, exc) from exc
        region = self.client.meta.region_name
        kwargs: dict[str, Any] = {"Bucket": self.bucket}
        if region and region != "us-east-1":
            kwargs["CreateBucketConfiguration"] = {"LocationConstraint": region}
        try:
            self.client.create_bucket(**kwargs)
        except (BotoCoreError, ClientError) as exc:
            raise self._fail("bucket creation", None, exc) from exc
