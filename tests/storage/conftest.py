import pytest


@pytest.fixture(params=["local", "s3"])
def storage_app(request, app):
    """The test app on each storage backend in turn (S3: a real ministack server)."""
    if request.param == "s3":
        return request.getfixturevalue("s3_app")
    return app


@pytest.fixture(params=["local", "s3"])
def any_storage(request, tmp_path):
    """A bare Storage of each kind."""
    if request.param == "s3":
        return request.getfixturevalue("s3_storage")
    from portal.storage.local import LocalStorage

    return LocalStorage(tmp_path / "store")
