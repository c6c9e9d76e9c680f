"""Document storage: one interface, a local-disk backend and an S3 backend."""

from __future__ import annotations

from typing import BinaryIO, Protocol

from flask import Flask


class StorageError(Exception):
    """The store could not be reached or refused the operation."""


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
