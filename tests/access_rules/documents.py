"""Document downloads: the uploader, and admins (with their second factor); everyone
else gets the same 404 as for a document that does not exist."""

import io

from werkzeug.datastructures import FileStorage

from tests.access_rules import rule


def build_world(world):
    from portal.services.documents import store_upload

    owner = world.people["supplier_owner_a"]
    file = FileStorage(stream=io.BytesIO(b"name,score\nA,1\n"), filename="scores.csv")
    world.document_of_a = store_upload(owner, file, area="access-matrix")


RULES = [
    rule(
        "documents.download",
        args=lambda w: {"document_id": w.document_of_a.id},
        default=404,
        anonymous=302,
        supplier_owner_a=200,
        admin=200,
    ),
]
