"""The audit trail page for administrators: filters, pages, escaping and the CSV export."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime

import pytest
import time_machine
from sqlalchemy import event

from portal.audit import record
from portal.extensions import db
from tests.fixtures.users import make_staff, make_supplier


@pytest.fixture
def admin(sign_in):
    return sign_in(make_staff("admin", email="admin@panel.example"))


def add_event(action="test.happened", *, actor=None, at=None, **kwargs):
    if at is None:
        made = record(action, actor=actor, **kwargs)
    else:
        with time_machine.travel(at, tick=False):
            made = record(action, actor=actor, **kwargs)
    db.session.commit()
    return made


def shown_sequences(response) -> list[int]:
    return [int(n) for n in re.findall(r'id="event-(\d+)"', response.get_data(as_text=True))]


def error_messages(response) -> list[str]:
    html = response.get_data(as_text=True)
    return [
        " ".join(m.split())
        for m in re.findall(
            r'class="govuk-error-message">\s*'
            r'<span class="govuk-visually-hidden">Error:</span>(.*?)</p>',
            html,
            re.S,
        )
    ]


def test_lists_events_newest_first(client, admin):
    for i in range(3):
        add_event(f"test.step_{i}", actor=admin, object_type="thing", object_id=i)
    response = client.get("/admin/audit")
    assert response.status_code == 200
    assert shown_sequences(response) == [3, 2, 1]
    html = response.get_data(as_text=True)
    assert "Showing 1 to 3 of 3 events" in html
    assert "admin@panel.example" in html
    assert "test.step_2" in html


def test_admin_without_second_factor_is_sent_to_it(client, sign_in):
    sign_in(make_staff("admin"), second_factor=False)
    response = client.get("/admin/audit")
    assert response.status_code == 302
    assert (
        "/second-factor" in response.headers["Location"] or "second" in response.headers["Location"]
    )


@pytest.mark.parametrize("path", ["/admin/audit", "/admin/audit.csv"])
def test_other_people_are_refused(client, sign_in, path):
    assert client.get(path).status_code == 302
    sign_in(make_staff("commissioner", "evaluator"))
    assert client.get(path).status_code == 403
    sign_in(make_supplier())
    assert client.get(path).status_code == 403


def test_data_is_shown_escaped(client, admin):
    add_event(
        actor=admin,
        data={"name": "<script>alert(1)</script>", "change": {"old": "a&b", "new": '"quoted"'}},
    )
    html = client.get("/admin/audit").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "a&amp;b" in html
    assert "change:" in html and "name:" in html


def test_actor_label_is_escaped(client, admin):
    add_event(actor="<img src=x onerror=alert(1)>@evil.example")
    html = client.get("/admin/audit").get_data(as_text=True)
    assert "<img src=x" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;@evil.example" in html


# ---------------------------------------------------------------------------------------
# filters


def test_filter_by_actor_email_part_any_case(client, admin):
    alice = make_staff("commissioner", email="Alice@Panel.example")
    bob = make_supplier(email="bob@supplier.example")
    add_event(actor=alice)
    add_event(actor=bob)
    add_event(actor=None)
    assert shown_sequences(client.get("/admin/audit?actor_email=alice@panel")) == [1]
    assert shown_sequences(client.get("/admin/audit?actor_email=SUPPLIER.example")) == [2]
    assert shown_sequences(client.get("/admin/audit?actor_email=%40")) == [2, 1]


def test_like_wildcards_in_filters_are_literal(client, admin):
    add_event(actor="someone@example.org")
    add_event("user_created", actor="other@example.org")
    add_event("userXcreated", actor="third@example.org")
    assert shown_sequences(client.get("/admin/audit?actor_email=%25")) == []
    assert shown_sequences(client.get("/admin/audit?action=user_")) == [2]


def test_filter_by_action_exact_or_prefix(client, admin):
    add_event("user.created")
    add_event("user.deactivated")
    add_event("organisation.created")
    assert shown_sequences(client.get("/admin/audit?action=user.")) == [2, 1]
    assert shown_sequences(client.get("/admin/audit?action=user.created")) == [1]
    assert shown_sequences(client.get("/admin/audit?action=+organisation.created+")) == [3]


def test_filter_by_object(client, admin):
    add_event(object_type="users", object_id=1)
    add_event(object_type="users", object_id=12)
    add_event(object_type="organisations", object_id=1)
    assert shown_sequences(client.get("/admin/audit?object_type=users")) == [2, 1]
    assert shown_sequences(client.get("/admin/audit?object_type=users&object_id=1")) == [1]
    assert shown_sequences(client.get("/admin/audit?object_id=1")) == [3, 1]


def test_rows_link_to_filters(client, admin):
    add_event("user.created", actor=admin, object_type="users", object_id=7)
    html = client.get("/admin/audit").get_data(as_text=True)
    assert 'href="/admin/audit?action=user.created"' in html
    assert 'href="/admin/audit?object_type=users&amp;object_id=7"' in html
    assert re.search(r'href="/admin/audit\?actor_email=admin(@|%40)panel.example"', html)


def date_query(name: str, day: str, month: str, year: str) -> str:
    return f"{name}={day}&{name}={month}&{name}={year}"


def test_filter_by_uk_date_range(client, admin):
    # 23:30 UTC on 30 June is 00:30 on 1 July in the UK (BST).
    add_event("test.june", at=datetime(2025, 6, 30, 22, 30, tzinfo=UTC))
    add_event("test.first_of_july", at=datetime(2025, 6, 30, 23, 30, tzinfo=UTC))
    add_event("test.second_of_july", at=datetime(2025, 7, 2, 12, 0, tzinfo=UTC))
    # In winter the UK is on GMT: 23:30 UTC on 1 December is still 1 December.
    add_event("test.december", at=datetime(2025, 12, 1, 23, 30, tzinfo=UTC))

    july_first = (
        date_query("date_from", "1", "7", "2025") + "&" + date_query("date_to", "1", "7", "2025")
    )
    assert shown_sequences(client.get(f"/admin/audit?{july_first}")) == [2]
    from_july = date_query("date_from", "01", "07", "2025")
    assert shown_sequences(client.get(f"/admin/audit?{from_july}")) == [4, 3, 2]
    to_june = date_query("date_to", "30", "6", "2025")
    assert shown_sequences(client.get(f"/admin/audit?{to_june}")) == [1]
    december = (
        date_query("date_from", "1", "12", "2025") + "&" + date_query("date_to", "1", "12", "2025")
    )
    assert shown_sequences(client.get(f"/admin/audit?{december}")) == [4]


@pytest.mark.parametrize(
    "query, message",
    [
        (date_query("date_from", "1", "", "2025"), "From date must include a month"),
        (date_query("date_from", "", "", "2025"), "From date must include a day and month"),
        (date_query("date_to", "31", "2", "2025"), "To date must be a real date"),
        (date_query("date_to", "x", "2", "2025"), "To date must be a real date"),
        (date_query("date_from", "1", "2", "25"), "From date: the year must include 4 numbers"),
        (
            date_query("date_from", "2", "3", "2025")
            + "&"
            + date_query("date_to", "1", "3", "2025"),
            "To date must be the same as or after the from date",
        ),
        ("action=" + "x" * 101, "Action must be 100 characters or fewer"),
    ],
)
def test_bad_filters_get_clear_errors(client, admin, query, message):
    add_event()
    response = client.get(f"/admin/audit?{query}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "There is a problem" in html
    assert message in error_messages(response)
    assert "<title>Error: Audit trail" in html
    assert shown_sequences(response) == []
    # The boxes keep what was typed.
    if query.startswith("date_from=1&date_from=&"):
        assert 'id="date_from-day" name="date_from" type="text" value="1"' in html or (
            'value="1"' in html
        )


def test_a_crafted_date_with_too_few_parts_is_an_error_not_a_crash(client, admin):
    response = client.get("/admin/audit?date_from=5")
    assert response.status_code == 200
    assert "From date must include a month and year" in error_messages(response)


def test_empty_filters_show_everything(client, admin):
    add_event()
    query = "actor_email=&action=&object_type=&object_id=&" + date_query("date_from", "", "", "")
    response = client.get(f"/admin/audit?{query}")
    assert shown_sequences(response) == [1]
    assert not error_messages(response)


# ---------------------------------------------------------------------------------------
# pages


def test_pages_of_events(app, client, admin):
    app.config["AUDIT_PAGE_SIZE"] = 5
    for _ in range(12):
        add_event("test.paged")
    add_event("other.thing")
    first = client.get("/admin/audit?action=test.")
    assert shown_sequences(first) == [12, 11, 10, 9, 8]
    html = first.get_data(as_text=True)
    assert "Showing 1 to 5 of 12 events matching the filters" in html
    assert 'class="govuk-pagination"' in html
    assert 'href="/admin/audit?action=test.&amp;page=2" rel="next"' in html
    assert 'aria-current="page"' in html

    second = client.get("/admin/audit?action=test.&page=2")
    assert shown_sequences(second) == [7, 6, 5, 4, 3]
    html = second.get_data(as_text=True)
    assert 'href="/admin/audit?action=test.&amp;page=1" rel="prev"' in html
    assert 'href="/admin/audit?action=test.&amp;page=3" rel="next"' in html

    third = client.get("/admin/audit?action=test.&page=3")
    assert shown_sequences(third) == [2, 1]
    assert 'rel="next"' not in third.get_data(as_text=True)

    # Past the end, or nonsense: the nearest real page.
    assert shown_sequences(client.get("/admin/audit?action=test.&page=99")) == [2, 1]
    assert shown_sequences(client.get("/admin/audit?action=test.&page=abc")) == [12, 11, 10, 9, 8]
    assert shown_sequences(client.get("/admin/audit?action=test.&page=-3")) == [12, 11, 10, 9, 8]


def test_long_pagination_uses_ellipses(app, client, admin):
    app.config["AUDIT_PAGE_SIZE"] = 1
    for _ in range(9):
        add_event()
    html = client.get("/admin/audit?page=5").get_data(as_text=True)
    pages = re.findall(r'aria-label="Page (\d+)"', html)
    assert pages == ["1", "4", "5", "6", "9"]
    assert html.count("govuk-pagination__item--ellipsis") == 2


def count_queries(app, fetch) -> int:
    statements: list[str] = []

    def on_execute(conn, cursor, statement, parameters, context, executemany):
        if not statement.startswith(("BEGIN", "SAVEPOINT", "RELEASE")):
            statements.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", on_execute)
    try:
        response = fetch()
        assert response.status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", on_execute)
    return len(statements)


def test_queries_do_not_grow_with_the_page_size(app, client, admin):
    actors = [make_staff("commissioner", email=f"staff{i}@panel.example") for i in range(5)]
    for i in range(60):
        add_event(actor=actors[i % 5], object_type="users", object_id=i, data={"i": i})
    db.session.expire_all()
    app.config["AUDIT_PAGE_SIZE"] = 5
    small = count_queries(app, lambda: client.get("/admin/audit"))
    app.config["AUDIT_PAGE_SIZE"] = 50
    large = count_queries(app, lambda: client.get("/admin/audit"))
    assert shown_sequences(client.get("/admin/audit"))[:2] == [60, 59]
    assert small == large
    # The signed-in user (3), the count and the page.
    assert large <= 6


# ---------------------------------------------------------------------------------------
# CSV export


def read_csv(response) -> list[dict]:
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    return list(csv.DictReader(io.StringIO(body(response))))


def body(response) -> str:
    """Read a streamed body. The export reads on its own connection once the request is
    over; in production the request's session is gone by then, but pytest-flask keeps one
    app context (and on SQLite its write lock) for the whole test, so let it go first."""
    db.session.remove()
    return response.get_data(as_text=True)


def test_csv_exports_the_filtered_events(client, admin):
    add_event("user.created", actor=admin, object_type="users", object_id=5, data={"a": 1})
    add_event("organisation.created", actor=admin)
    add_event("user.deactivated", actor=admin, object_type="users", object_id=5, data={"é": "ü"})
    response = client.get("/admin/audit.csv?action=user.")
    assert response.headers["Content-Disposition"].startswith('attachment; filename="audit-events-')
    assert response.headers["Cache-Control"] == "no-store"
    rows = read_csv(response)
    assert [r["sequence"] for r in rows] == ["3", "1"]
    newest = rows[0]
    assert newest["action"] == "user.deactivated"
    assert newest["actor_email"] == "admin@panel.example"
    assert newest["object_type"] == "users" and newest["object_id"] == "5"
    assert newest["data"] == '{"é":"ü"}'
    assert newest["occurred_at_utc"].endswith("+00:00")
    assert len(newest["hash"]) == 64 and len(newest["previous_hash"]) == 64


def test_csv_is_streamed(client, admin):
    add_event()
    response = client.get("/admin/audit.csv")
    assert response.is_streamed


def test_csv_of_many_events_in_batches(client, admin):
    for i in range(450):
        record("test.bulk", data={"i": i})
    db.session.commit()
    rows = read_csv(client.get("/admin/audit.csv"))
    assert len(rows) == 450
    assert rows[0]["sequence"] == "450" and rows[-1]["sequence"] == "1"


@pytest.mark.parametrize(
    "dangerous", ['=HYPERLINK("http://x")', "+1+2", "-2+3", "@SUM(A1)", "\tcmd", "\rcmd"]
)
def test_csv_guards_against_formula_injection(client, admin, dangerous):
    add_event(actor=dangerous + "@x.example", object_type=dangerous[:60], object_id=dangerous)
    row = read_csv(client.get("/admin/audit.csv"))[0]
    for column in ("actor_email", "object_type", "object_id"):
        assert row[column].startswith("'"), (column, row[column])
        assert row[column][1:2] == dangerous[0]


def test_csv_leaves_ordinary_values_alone(client, admin):
    add_event("user.created", actor="a=b@x.example", object_id="12-3")
    row = read_csv(client.get("/admin/audit.csv"))[0]
    assert row["actor_email"] == "a=b@x.example"
    assert row["object_id"] == "12-3"


def test_csv_with_bad_filters_goes_back_to_the_page(client, admin):
    query = date_query("date_from", "31", "2", "2025")
    response = client.get(f"/admin/audit.csv?{query}")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/admin/audit?date_from=31")


def test_page_links_to_the_csv_of_the_same_filters(client, admin):
    add_event("user.created")
    html = client.get("/admin/audit?action=user.&page=1").get_data(as_text=True)
    assert 'href="/admin/audit.csv?action=user."' in html
