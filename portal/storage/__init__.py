"""Document storage: one interface, a local-disk backend and an S3 backend."""

from __future__ import annotations

import re
import unicodedata
from typing import BinaryIO, Protocol
from urllib.parse import quote

from flask import Flask


class StorageError(Exception):
    """The store could not be reached or refused the operation."""


def attachment_disposition(filename: str) -> str:
    """`Content-Disposition: attachment` with the original name, safe for any name.

    A plain-ASCII `filename=` for old clients (anything awkward becomes `_`) and an RFC 5987
    `filename*=` with the exact UTF-8 name. Quotes, backslashes, control characters and
    path separators can never break out of the header.
    """
    name = "".join(ch for ch in filename if unicodedata.category(ch)[0] != "C")
    name = name.replace("/", "_").replace("\\", "_").strip() or "download"
    # é -> e (its accent is dropped); anything else outside ASCII -> _
    fallback = "".join(
        ch if ch.isascii() else ("" if unicodedata.combining(ch) else "_")
        for ch in unicodedata.normalize("NFKD", name)
    )
    fallback = re.sub(r'[^A-Za-z0-9 ._()+,-]', "_", fallback).strip()
    if not fallback or fallback.startswith("."):
        fallback = f"download{fallback}"
    encoded = quote(name, safe="")
    return f'attachment; filename="{fallback}"; filename*=UTF-8\'\'{encoded}'


def serving_type(content_type: str) -> str:
    """The Content-Type to send: text is always declared UTF-8 (the upload checked it)."""
    if content_type.startswith("text/") and "charset" not in content_type:
        return f"{content_type}; charset=utf-8"
    return content_type


class Storage(Protocol):
    def put(self, key: str, fileobj: BinaryIO, content_type: str, size: int) -> None: ...

    def open(self, key: str) -> BinaryIO: ...

    def delete(self, key: str) -> None: ...

    def exists(self, key: str) -> bool: ...

    def presigned_url(
        self, key: str, filename: str, content_type: str, expires: int
    ) -> str | None:
        """A short-lived download link, or None when the backend streams through the app."""
        ...

    def check(self) -> None:
        """Raise StorageError when the store is unreachable."""
        ...


def build_storage(config) -> Storage:
    backend = config.get("STORAGE_BACKEND", "local")
    if backend == "local":
        from portal.storage.local import LocalStorage

        return LocalStorage(config["STORAGE_LOCAL_PATH"])
    if backend == "s3":
        from portal.storage.s3 import S3Storage

        return S3Storage.from_config(config)
    raise RuntimeError(f"Unknown STORAGE_BACKEND {backend!r} (use 'local' or 's3')")


def get_storage(app: Flask) -> Storage:
    storage = app.extensions.get("portal_storage")
    if storage is None:
        storage = build_storage(app.config)
        app.extensions["portal_storage"] = storage
    return storage
