"""The audit trail: recording, the hash chain, and `flask audit verify` catching tampering.

Tampering is done the way an intruder with database access would: raw SQL that bypasses
record(), then `flask audit verify` must exit 1 naming the first bad event.
"""

from __future__ import annotations

import itertools
import re
import threading
from datetime import timedelta
from decimal import Decimal
from types import SimpleNamespace

import pytest
from sqlalchemy import JSON, bindparam, insert, select, text

import portal.audit as audit_module
from portal.audit import (
    EDITED,
    HEAD_MISMATCH,
    MISSING,
    OUT_OF_ORDER,
    REWRITTEN,
    canonical_json,
    compute_hash,
    record,
    verify_chain,
)
from portal.extensions import db
from portal.models.audit import GENESIS_HASH, AuditEvent, AuditHead
from portal.models.base import utcnow
from tests.fixtures.users import UserFactory

# ---------------------------------------------------------------------------------------
# helpers


def make_events(n: int, actor=None) -> list[AuditEvent]:
    """n events, one committed transaction each, as services would write them."""
    events = []
    for i in range(n):
        events.append(
            record(
                "test.thing_changed",
                actor=actor,
                object_type="thing",
                object_id=i + 1,
                data={"field": "title", "old": f"Title {i}", "new": f"Title {i + 1}"},
            )
        )
        db.session.commit()
    return events


def run_verify(app, *args: str):
    return app.test_cli_runner().invoke(args=["audit", "verify", *args])


def rows() -> list:
    return list(
        db.session.execute(
            select(AuditEvent.id, AuditEvent.sequence, AuditEvent.hash).order_by(
                AuditEvent.sequence
            )
        )
    )


def sql(statement: str, **params) -> None:
    db.session.execute(text(statement), params)
    db.session.commit()


def assert_broken(app, *, sequence: int, event_id: int | None, kind: str) -> str:
    result = run_verify(app)
    assert result.exit_code == 1, result.output
    where = f"sequence {sequence}"
    if event_id is not None:
        where += f" (event id {event_id})"
    assert f"Audit chain BROKEN at {where}: {kind}:" in result.output, result.output
    report = verify_chain()
    db.session.rollback()
    assert not report.ok
    assert report.problem.sequence == sequence
    assert report.problem.event_id == event_id
    assert report.problem.kind == kind
    return result.output


def forged_row(**fields) -> dict:
    """A complete, self-consistent event row (its hash matches its contents)."""
    values = {
        "sequence": 1,
        "occurred_at": utcnow(),
        "actor_id": None,
        "actor_label": "intruder@example.org",
        "action": "test.forged",
        "object_type": "thing",
        "object_id": "99",
        "data": {"forged": True},
        "ip_address": None,
        "previous_hash": GENESIS_HASH,
    }
    values.update(fields)
    values["hash"] = compute_hash(SimpleNamespace(**values))
    return values


def insert_row(values: dict) -> int:
    result = db.session.execute(insert(AuditEvent.__table__).values(**values))
    db.session.commit()
    return result.inserted_primary_key[0]


# ---------------------------------------------------------------------------------------
# recording and the happy path


def test_empty_chain_is_intact(app):
    result = run_verify(app)
    assert result.exit_code == 0, result.output
    assert "Audit chain intact: 0 events" in result.output


def test_record_links_each_event_to_the_one_before(app):
    actor = UserFactory(email="admin@example.org")
    events = make_events(5, actor=actor)

    head = db.session.get(AuditHead, 1)
    assert [e.sequence for e in events] == [1, 2, 3, 4, 5]
    assert events[0].previous_hash == GENESIS_HASH
    for before, after in itertools.pairwise(events):
        assert after.previous_hash == before.hash
        assert after.occurred_at >= before.occurred_at
    for event in events:
        assert event.hash == compute_hash(event)
        assert event.actor_id == actor.id
        assert event.actor_label == "admin@example.org"
    assert (head.last_sequence, head.last_hash) == (5, events[-1].hash)

    result = run_verify(app)
    assert result.exit_code == 0, result.output
    assert "Audit chain intact: 5 events" in result.output
    assert f"Head: 5:{events[-1].hash}" in result.output


def test_record_takes_the_object_and_its_id(app):
    user = UserFactory()
    event = record("user.viewed", obj=user, data={})
    db.session.commit()
    assert (event.object_type, event.object_id) == ("users", str(user.id))


def test_record_with_a_text_actor_and_request_ip(app):
    with app.test_request_context(environ_base={"REMOTE_ADDR": "203.0.113.7"}):
        event = record("system.job_ran", actor="cli", data={"job": "cleanup"})
        db.session.commit()
    assert event.actor_id is None
    assert event.actor_label == "cli"
    assert event.ip_address == "203.0.113.7"


def test_rolled_back_event_leaves_no_trace(app):
    make_events(2)
    record("test.rolled_back", data={"x": 1})
    db.session.rollback()
    head = db.session.get(AuditHead, 1)
    assert head.last_sequence == 2
    assert len(rows()) == 2
    assert run_verify(app).exit_code == 0


def test_several_events_in_one_transaction(app):
    for i in range(3):
        record("test.batch", data={"i": i})
    db.session.commit()
    record("test.after", data={})
    db.session.commit()
    assert [r.sequence for r in rows()] == [1, 2, 3, 4]
    assert verify_chain().ok


def test_several_events_in_one_transaction_without_autoflush(app):
    with db.session.no_autoflush:
        for i in range(3):
            record("test.batch", data={"i": i})
    db.session.commit()
    assert [r.sequence for r in rows()] == [1, 2, 3]
    assert verify_chain().ok


def test_data_is_stored_exactly_as_hashed(app):
    when = utcnow()
    record(
        "test.data",
        data={
            "when": when,
            "amount": Decimal("12.50"),
            "ratio": 0.1,
            "big": 2**62,
            "name": "Zoë O\u2019Brien <script>",
            "nested": {"b": [1, None, True], "a": "x"},
        },
    )
    db.session.commit()
    db.session.expire_all()
    event = db.session.execute(select(AuditEvent)).scalar_one()
    assert event.data["when"] == str(when)
    assert event.data["amount"] == "12.50"
    assert event.data["name"] == "Zoë O\u2019Brien <script>"
    assert event.hash == compute_hash(event)
    assert run_verify(app).exit_code == 0


def test_not_a_number_is_refused(app):
    with pytest.raises(ValueError):
        record("test.nan", data={"x": float("nan")})
    db.session.rollback()


def test_canonical_json_is_stable():
    assert canonical_json({"b": 1, "a": [2, "é"]}) == '{"a":[2,"é"],"b":1}'


def test_time_never_goes_backwards(app, monkeypatch):
    make_events(1)
    first = db.session.execute(select(AuditEvent)).scalar_one()
    # Another app server whose clock is a second behind appends the next event.
    earlier = first.occurred_at - timedelta(seconds=1)
    monkeypatch.setattr(audit_module, "utcnow", lambda: earlier)
    second = record("test.skewed_clock", data={})
    db.session.commit()
    assert second.occurred_at == first.occurred_at
    assert verify_chain().ok


@pytest.mark.postgres
def test_stale_head_in_the_session_is_reloaded(app, database_url):
    if not database_url.startswith("postgresql"):
        pytest.skip("needs PostgreSQL (TEST_DATABASE_URL)")
    make_events(2)
    head = db.session.get(AuditHead, 1)  # loaded without the lock, transaction open
    assert head.last_sequence == 2

    def other_writer():
        with app.app_context():
            record("test.other_writer", data={})
            db.session.commit()

    thread = threading.Thread(target=other_writer)
    thread.start()
    thread.join()

    event = record("test.after_stale_read", data={})
    db.session.commit()
    assert event.sequence == 4
    assert verify_chain().ok


def test_verify_streams_in_small_batches(app):
    make_events(7)
    result = run_verify(app, "--batch-size", "2")
    assert result.exit_code == 0, result.output
    assert "Audit chain intact: 7 events" in result.output
    report = verify_chain(batch_size=3)
    assert report.ok and report.events_checked == 7


# ---------------------------------------------------------------------------------------
# tampering, each way


def test_edited_data_is_caught(app):
    make_events(5)
    target = rows()[2]
    db.session.execute(
        text("UPDATE audit_events SET data = :data WHERE id = :id").bindparams(
            bindparam("data", type_=JSON)
        ),
        {"data": {"field": "title", "old": "Title 2", "new": "Something else"}, "id": target.id},
    )
    db.session.commit()
    output = assert_broken(app, sequence=3, event_id=target.id, kind=EDITED)
    assert "2 events before it verified" in output


@pytest.mark.parametrize(
    "column, value",
    [
        ("action", "test.innocent"),
        ("actor_label", "someone-else@example.org"),
        ("object_id", "12345"),
        ("ip_address", "198.51.100.1"),
    ],
)
def test_edited_column_is_caught(app, column, value):
    make_events(4)
    target = rows()[1]
    sql(f"UPDATE audit_events SET {column} = :value WHERE id = :id", value=value, id=target.id)  # noqa: S608
    assert_broken(app, sequence=2, event_id=target.id, kind=EDITED)


def test_edited_time_is_caught(app):
    make_events(4)
    target = rows()[3]
    event = db.session.get(AuditEvent, target.id)
    db.session.execute(
        AuditEvent.__table__.update()
        .where(AuditEvent.id == target.id)
        .values(occurred_at=event.occurred_at - timedelta(days=30))
    )
    db.session.commit()
    assert_broken(app, sequence=4, event_id=target.id, kind=EDITED)


def test_edit_with_a_recomputed_hash_is_caught_at_the_next_event(app):
    make_events(5)
    target = db.session.get(AuditEvent, rows()[1].id)
    values = {c: getattr(target, c) for c in forged_row()} | {"action": "test.rewritten"}
    new_hash = forged_row(**values)["hash"]
    sql(
        "UPDATE audit_events SET action = 'test.rewritten', hash = :hash WHERE id = :id",
        hash=new_hash,
        id=target.id,
    )
    output = assert_broken(app, sequence=3, event_id=rows()[2].id, kind=OUT_OF_ORDER)
    assert "previous_hash does not match the hash of sequence 2" in output


def test_deleted_middle_event_is_caught(app):
    make_events(5)
    sql("DELETE FROM audit_events WHERE sequence = 3")
    output = assert_broken(app, sequence=3, event_id=None, kind=MISSING)
    assert "sequence 3 deleted" in output


def test_deleted_first_event_is_caught(app):
    make_events(3)
    sql("DELETE FROM audit_events WHERE sequence = 1")
    assert_broken(app, sequence=1, event_id=None, kind=MISSING)


def test_deleted_middle_events_renumbered_are_caught(app):
    """Deleting an event and closing the gap by renumbering the rest breaks the hashes."""
    make_events(5)
    sql("DELETE FROM audit_events WHERE sequence = 2")
    for seq in (3, 4, 5):
        sql("UPDATE audit_events SET sequence = :new WHERE sequence = :old", new=seq - 1, old=seq)
    sql("UPDATE audit_head SET last_sequence = 4")
    renumbered = rows()[1]
    assert_broken(app, sequence=2, event_id=renumbered.id, kind=EDITED)


def test_deleted_last_event_is_caught(app):
    make_events(5)
    sql("DELETE FROM audit_events WHERE sequence = 5")
    output = assert_broken(app, sequence=5, event_id=None, kind=MISSING)
    assert "deleted from the end" in output


def test_deleted_last_events_are_caught(app):
    make_events(5)
    sql("DELETE FROM audit_events WHERE sequence >= 3")
    output = assert_broken(app, sequence=3, event_id=None, kind=MISSING)
    assert "sequences 3 to 5 deleted from the end" in output


def test_replaced_last_event_is_caught_by_the_head(app):
    make_events(3)
    last = db.session.get(AuditEvent, rows()[-1].id)
    values = {c: getattr(last, c) for c in forged_row()} | {"data": {"forged": True}}
    forged = forged_row(**values)
    sql("DELETE FROM audit_events WHERE id = :id", id=last.id)
    new_id = insert_row(forged)
    assert_broken(app, sequence=3, event_id=new_id, kind=HEAD_MISMATCH)


def test_forged_event_appended_without_the_head_is_caught(app):
    make_events(4)
    forged = forged_row(sequence=5, previous_hash=rows()[-1].hash)
    forged_id = insert_row(forged)
    output = assert_broken(app, sequence=5, event_id=forged_id, kind=OUT_OF_ORDER)
    assert "beyond the chain's head" in output


def test_forged_event_pointing_at_the_wrong_event_is_caught(app):
    make_events(4)
    forged = forged_row(sequence=5, previous_hash=rows()[1].hash)  # links to sequence 2
    forged_id = insert_row(forged)
    sql("UPDATE audit_head SET last_sequence = 5, last_hash = :h", h=forged["hash"])
    output = assert_broken(app, sequence=5, event_id=forged_id, kind=OUT_OF_ORDER)
    assert "previous_hash does not match the hash of sequence 4" in output


def test_forged_event_inserted_in_the_middle_is_caught(app):
    """The intruder makes room at sequence 3, inserts a self-consistent event linked to
    sequence 2 and moves the head: the forged row is named."""
    make_events(5)
    before = rows()
    for seq in (5, 4, 3):
        sql("UPDATE audit_events SET sequence = :new WHERE sequence = :old", new=seq + 1, old=seq)
    forged = forged_row(sequence=3, previous_hash=before[1].hash)
    forged_id = insert_row(forged)
    sql("UPDATE audit_head SET last_sequence = 6")
    output = assert_broken(app, sequence=3, event_id=forged_id, kind=OUT_OF_ORDER)
    assert "inserted or swapped out of order" in output


def test_forged_event_before_the_start_is_caught(app):
    make_events(3)
    forged_id = insert_row(forged_row(sequence=0))
    assert_broken(app, sequence=0, event_id=forged_id, kind=OUT_OF_ORDER)


def test_swapped_sequences_are_caught(app):
    make_events(5)
    before = rows()
    sql("UPDATE audit_events SET sequence = -1 WHERE sequence = 2")
    sql("UPDATE audit_events SET sequence = 2 WHERE sequence = 3")
    sql("UPDATE audit_events SET sequence = 3 WHERE sequence = -1")
    # Position 2 now holds the event written as sequence 3.
    assert_broken(app, sequence=2, event_id=before[2].id, kind=EDITED)


def test_swapped_rows_are_caught(app):
    """Two whole events exchange places (their row ids swapped): each still matches its
    own hash and links, but the event at sequence 2 was written after sequence 3."""
    make_events(5)
    before = rows()
    a, b = before[1].id, before[2].id
    sql("UPDATE audit_events SET id = :tmp WHERE id = :a", tmp=10_000, a=a)
    sql("UPDATE audit_events SET id = :a WHERE id = :b", a=a, b=b)
    sql("UPDATE audit_events SET id = :b WHERE id = :tmp", b=b, tmp=10_000)
    output = assert_broken(app, sequence=2, event_id=b, kind=OUT_OF_ORDER)
    assert "written after the event that follows it" in output


def test_event_dated_before_its_predecessor_is_caught(app):
    """A self-consistent event whose time goes backwards was not written by record()."""
    make_events(3)
    last = db.session.get(AuditEvent, rows()[-1].id)
    earlier = last.occurred_at - timedelta(hours=1)
    forged = forged_row(sequence=4, previous_hash=last.hash, occurred_at=earlier)
    forged_id = insert_row(forged)
    sql("UPDATE audit_head SET last_sequence = 4, last_hash = :h", h=forged["hash"])
    output = assert_broken(app, sequence=4, event_id=forged_id, kind=OUT_OF_ORDER)
    assert "before the event ahead of it" in output


def test_missing_head_is_caught(app):
    make_events(2)
    sql("DELETE FROM audit_head")
    result = run_verify(app)
    assert result.exit_code == 1
    assert "the head row is missing" in result.output


def test_first_bad_event_is_named_when_several_are_bad(app):
    make_events(6)
    sql("UPDATE audit_events SET action = 'x' WHERE sequence IN (2, 5)")
    sql("DELETE FROM audit_events WHERE sequence = 4")
    assert_broken(app, sequence=2, event_id=rows()[1].id, kind=EDITED)


# ---------------------------------------------------------------------------------------
# anchors: heads recorded outside the database catch a chain rewritten wholesale


def rehash_from(sequence: int) -> None:
    """What an intruder who knows the scheme does: re-hash every event from `sequence`
    on and move the head, so the chain is self-consistent again."""
    events = db.session.execute(select(AuditEvent).order_by(AuditEvent.sequence)).scalars()
    previous = GENESIS_HASH
    last_sequence = 0
    for event in events:
        if event.sequence >= sequence:
            event.previous_hash = previous
            event.hash = compute_hash(event)
        previous, last_sequence = event.hash, event.sequence
    head = db.session.get(AuditHead, 1)
    head.last_sequence, head.last_hash = last_sequence, previous
    db.session.commit()


def test_rewritten_chain_is_caught_by_an_anchor(app):
    make_events(5)
    first_run = run_verify(app)
    anchor = re.search(r"Head: (\d+:[0-9a-f]{64})", first_run.output).group(1)
    assert anchor.startswith("5:")

    sql("UPDATE audit_events SET action = 'test.innocent' WHERE sequence = 3")
    rehash_from(3)
    # The chain alone cannot tell ...
    assert run_verify(app).exit_code == 0
    # ... the recorded head can.
    result = run_verify(app, "--anchor", anchor)
    assert result.exit_code == 1
    assert "Audit chain BROKEN at sequence 5 (event id 5): rewritten:" in result.output


def test_truncated_chain_is_caught_by_an_anchor(app):
    make_events(5)
    anchor = f"5:{rows()[-1].hash}"
    sql("DELETE FROM audit_events WHERE sequence >= 4")
    rehash_from(4)  # moves the head back to sequence 3
    assert run_verify(app).exit_code == 0
    result = run_verify(app, "--anchor", anchor)
    assert result.exit_code == 1
    assert "Audit chain BROKEN at sequence 4: rewritten:" in result.output
    report = verify_chain(anchors={5: anchor.split(":")[1]})
    db.session.rollback()
    assert (report.problem.kind, report.problem.sequence) == (REWRITTEN, 4)


def test_anchors_that_still_match_pass(app):
    make_events(4)
    anchors = [f"{r.sequence}:{r.hash}" for r in rows()[1:3]]
    make_events(2)
    result = run_verify(app, *[x for a in anchors for x in ("--anchor", a)])
    assert result.exit_code == 0, result.output
    assert "Audit chain intact: 6 events" in result.output


def test_a_malformed_anchor_is_a_usage_error(app):
    result = run_verify(app, "--anchor", "five:abc")
    assert result.exit_code == 2
    assert "is not SEQUENCE:HASH" in result.output
