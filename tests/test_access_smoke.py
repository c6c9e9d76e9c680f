"""Staff pages: signed-out people are sent to sign in, others are refused."""

from tests.fixtures.users import make_staff, make_supplier


def test_admin_home_needs_admin(client, sign_in):
    assert client.get("/admin/").status_code == 302
    sign_in(make_supplier())
    assert client.get("/admin/").status_code == 403


def test_admin_home_for_admin(client, sign_in):
    sign_in(make_staff("admin"))
    response = client.get("/admin/")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
