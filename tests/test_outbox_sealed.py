"""The admin outbox page must not tell an admin who bid (sealed bids)."""

from portal.extensions import db
from portal.models.outbox import OutboxEmail
from tests.fixtures.users import make_staff


def _add(template: str, recipient: str) -> None:
    db.session.add(
        OutboxEmail(recipient=recipient, subject=f"Subject {template}", text_body="x",
                    template=template)
    )
    db.session.commit()


def test_bid_mail_is_masked_and_not_searchable(client, sign_in):
    _add("bid_receipt", "bidder@secret-bidder.example")
    _add("team_invitation", "colleague@open.example")
    sign_in(make_staff("admin"))

    page = client.get("/admin/outbox").get_data(as_text=True)
    assert "secret-bidder" not in page
    assert "Sealed bid correspondence" in page
    assert "colleague@open.example" in page

    found = client.get("/admin/outbox?recipient=secret-bidder").get_data(as_text=True)
    assert "Sealed bid correspondence" not in found
    assert "bidder@secret-bidder.example" not in found  # the search box echoes the term
    found_other = client.get("/admin/outbox?recipient=open.example").get_data(as_text=True)
    assert "colleague@open.example" in found_other
