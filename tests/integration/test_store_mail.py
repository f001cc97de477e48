"""The store's inbound log, outbox and state against real SQLite and PostgreSQL.

Same fixtures as ``test_store.py``: each test runs once per database. The tests taking
``store_factory`` are the ports' contract: they run over the unit tests' fake store too.
"""

from __future__ import annotations

import zlib
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, text

from mailbot.adapters.migrate import migrate
from mailbot.adapters.sqlalchemy_store.engine import make_engine, make_session_factory
from mailbot.adapters.sqlalchemy_store.orm import InboundMessageRow
from mailbot.adapters.sqlalchemy_store.unit_of_work import SqlAlchemyUnitOfWork
from mailbot.domain.errors import DatabaseTrouble, PermanentError
from mailbot.services.stored import OutboxItem

NOW = datetime(2026, 4, 1, 9, 0, tzinfo=UTC)
RAW = b"Message-ID: <m1@school.example>\r\nSubject: referral\r\n\r\n" + b"body line\r\n" * 200

pytest_plugins = ["tests.integration.db_fixtures"]


def item(**changes) -> OutboxItem:
    values = dict(case_reference="BSCP-2026-0001", template="acknowledgement", stage=1,
                  key="", recipient="rita@school.example", message_id="a1@lscp.example",
                  envelope_from="bscp@lscp.example", data=b"From: bscp@lscp.example\r\n\r\nHi")
    values.update(changes)
    return OutboxItem(**values)


def enqueue(uow_factory, *items: OutboxItem) -> list[bool]:
    with uow_factory() as uow:
        added = [uow.outbox.enqueue(i) for i in items]
        uow.commit()
    return added


# --- inbound ---------------------------------------------------------------------------------

def test_a_new_message_is_recorded_with_its_raw_bytes_compressed(uow_factory):
    with uow_factory() as uow:
        record = uow.inbound.record("bury", 7, "101", "m1@school.example", RAW)
        uow.commit()
    assert record is not None and record.status == "received"
    with uow_factory() as uow:
        assert uow.inbound.raw(record.id) == RAW
        stored = uow.session.scalar(select(InboundMessageRow.raw))
    assert len(stored) < len(RAW) and zlib.decompress(stored) == RAW


def test_the_same_bytes_at_another_uid_are_recognised_as_a_replay(store_factory):
    with store_factory() as uow:
        first = uow.inbound.record("bury", 7, "101", "m1@school.example", RAW)
        # After a UIDVALIDITY change the server numbers the same message afresh.
        assert uow.inbound.record("bury", 8, "1", "m1@school.example", RAW) is None
        assert uow.inbound.find("bury", 8, "1", RAW) == first
        uow.commit()


def test_the_same_mailbox_uidvalidity_and_uid_are_recognised_as_a_replay(store_factory):
    with store_factory() as uow:
        first = uow.inbound.record("bury", 7, "101", "m1@school.example", RAW)
        assert uow.inbound.record("bury", 7, "101", "m1@school.example", RAW + b"x") is None
        assert uow.inbound.find("bury", 7, "101", b"other bytes") == first
        assert uow.inbound.record("hackney", 7, "101", "m2@x.example", RAW + b"x") is not None
        assert uow.inbound.find("bury", 7, "102", b"unknown") is None


def test_the_same_bytes_in_two_partnership_mailboxes_are_two_messages(uow_factory):
    with uow_factory() as uow:
        bury = uow.inbound.record("bury", 7, "101", "m1@school.example", RAW)
        hackney = uow.inbound.record("hackney", 3, "9", "m1@school.example", RAW)
        assert bury is not None and hackney is not None, "issue 14: each mailbox keeps its copy"
        assert uow.inbound.find("hackney", 4, "1", RAW) == hackney
        assert uow.inbound.record_many([("berkshire", 1, "1", "m1@school.example", RAW),
                                        ("bury", 9, "9", "m1@school.example", RAW)]) == 1
        uow.commit()


def test_a_batch_is_recorded_in_one_go_and_replays_inside_and_across_batches_are_skipped(
        store_factory):
    batch = [("bury", 7, str(n), f"m{n}@school.example", RAW + str(n).encode()) for n in range(5)]
    with store_factory() as uow:
        twice_in_one_batch = [*batch[:3], ("bury", 8, "99", "m0@school.example", batch[0][4])]
        assert uow.inbound.record_many(twice_in_one_batch) == 3
        uow.commit()
    with store_factory() as uow:
        assert uow.inbound.record_many(batch) == 2, "only the two not seen before"
        assert uow.inbound.record_many([]) == 0
        uow.commit()
    with store_factory() as uow:
        pending = uow.inbound.pending("bury")
        assert [r.uid for r in pending] == ["0", "1", "2", "3", "4"], "oldest first"
        assert uow.inbound.raw(pending[4].id) == RAW + b"4"
        uow.inbound.mark(pending[0].id, "processed")
        uow.commit()
    with store_factory() as uow:
        assert [r.uid for r in uow.inbound.pending("bury", limit=2)] == ["1", "2"]
        assert uow.inbound.pending("hackney") == []


def test_marking_a_message_keeps_its_status_case_and_error(uow_factory):
    with uow_factory() as uow:
        record = uow.inbound.record("bury", 7, "101", "m1@school.example", RAW)
        uow.inbound.mark(record.id, "quarantined", "BSCP-2026-0001", "FormError: unreadable")
        uow.commit()
    with uow_factory() as uow:
        stored = uow.inbound.find("bury", 7, "101", RAW)
        error = uow.session.scalar(select(InboundMessageRow.error))
    assert (stored.status, stored.case_reference) == ("quarantined", "BSCP-2026-0001")
    assert error == "FormError: unreadable"


# --- outbox ----------------------------------------------------------------------------------

def test_the_same_message_to_the_same_recipient_is_queued_only_once(store_factory):
    assert enqueue(store_factory, item()) == [True]
    assert enqueue(store_factory, item(message_id="a2@lscp.example")) == [False]
    assert enqueue(store_factory, item(message_id="a3@lscp.example",
                                     recipient="tom@trust.example")) == [True]


def test_a_batch_is_queued_as_one_row_at_a_time_would_be_and_says_which_rows_are_new(
        store_factory):
    enqueue(store_factory, item())
    with store_factory() as uow:
        added = uow.outbox.enqueue_many([
            item(message_id="b1@x"),  # queued already, above
            item(message_id="b2@x", key="two"),
            item(message_id="b3@x", key="two"),  # the same key as the one before it
            item(message_id="b4@x", key="three", held=True)])
        uow.commit()
    assert added == [False, True, False, True]
    with store_factory() as uow:
        due = uow.outbox.due(NOW)
        assert uow.outbox.held_recipients("BSCP-2026-0001") == ["rita@school.example"]
    assert [(row.item.key, row.item.message_id) for row in due] == [("", "a1@lscp.example"),
                                                                     ("two", "b2@x")]
    with store_factory() as uow:
        assert uow.outbox.enqueue_many([]) == []


def test_a_batch_with_a_message_id_already_used_is_refused_whole(uow_factory):
    # A clashing Message-ID is a bug: it fails loudly, on PostgreSQL's pipelined INSERT too.
    enqueue(uow_factory, item())
    with uow_factory() as uow, pytest.raises(PermanentError, match="constraint"):
        uow.outbox.enqueue_many([item(message_id="c1@x", key="one"),
                                 item(message_id="<a1@lscp.example>", key="two")])
    with uow_factory() as uow:
        assert [row.item.message_id for row in uow.outbox.due(NOW)] == ["a1@lscp.example"]
        assert uow.outbox.enqueue_many([item(message_id="c1@x", key="one")]) == [True]
        uow.commit()


def test_a_message_without_case_or_stage_is_still_queued_only_once(store_factory):
    # NULLs never clash in a unique constraint; the store keeps '' and 0 instead.
    caseless = dict(case_reference=None, stage=None, template="correction_request", key="m9")
    assert enqueue(store_factory, item(**caseless), item(**caseless, message_id="a2@x")) == [
        True, False]
    with store_factory() as uow:
        [row] = uow.outbox.due(NOW)
    assert (row.item.case_reference, row.item.stage) == (None, None)


def test_a_queued_message_is_due_at_once_and_not_after_it_is_sent(store_factory):
    enqueue(store_factory, item())
    with store_factory() as uow:
        [row] = uow.outbox.due(NOW)
        assert row.item == item() and (row.attempts, row.status) == (0, "queued")
        uow.outbox.mark_sent(row.id, NOW)
        uow.commit()
    with store_factory() as uow:
        assert uow.outbox.due(NOW + timedelta(days=1)) == []
        assert uow.outbox.get(row.id).status == "sent"


def test_a_transient_failure_is_retried_when_its_time_comes(store_factory):
    enqueue(store_factory, item())
    with store_factory() as uow:
        [row] = uow.outbox.due(NOW)
        uow.outbox.mark_failed(row.id, NOW, "421 try later", permanent=False,
                               retry_at=NOW + timedelta(seconds=30))
        uow.commit()
    with store_factory() as uow:
        assert uow.outbox.due(NOW + timedelta(seconds=29)) == []
        [again] = uow.outbox.due(NOW + timedelta(seconds=30))
    assert (again.attempts, again.status, again.last_error) == (1, "queued", "421 try later")


def test_due_mail_can_be_taken_for_one_sender_only(store_factory):
    """A watcher sends its own mailbox's mail, not another mailbox's backlog (issue 18)."""
    enqueue(store_factory, item(envelope_from="bsp@bury.example", message_id="b1@bury.example"),
            item(envelope_from="chscp@hackney.example", message_id="h1@hackney.example",
                 case_reference="CHSCP-2026-0001"))
    with store_factory() as uow:
        assert [row.item.message_id for row in uow.outbox.due(NOW, sender="chscp@hackney.example")
                ] == ["h1@hackney.example"]
        assert len(uow.outbox.due(NOW)) == 2


def test_a_permanent_failure_is_never_due_again(store_factory):
    enqueue(store_factory, item())
    with store_factory() as uow:
        [row] = uow.outbox.due(NOW)
        uow.outbox.mark_failed(row.id, NOW, "550 no such user", permanent=True, retry_at=None)
        uow.commit()
    with store_factory() as uow:
        assert uow.outbox.due(NOW + timedelta(days=30)) == []
        assert uow.outbox.get(row.id).status == "failed"


def test_due_gives_new_messages_oldest_first_up_to_the_limit(store_factory):
    enqueue(store_factory, *(item(key=str(n), message_id=f"k{n}@x") for n in range(5)))
    with store_factory() as uow:
        assert [r.item.key for r in uow.outbox.due(NOW, limit=3)] == ["0", "1", "2"]


def test_our_message_ids_are_found_with_or_without_angle_brackets(store_factory):
    enqueue(store_factory, item(), item(case_reference=None, stage=None, template="correction",
                                      message_id="c1@lscp.example"))
    with store_factory() as uow:
        found = uow.outbox.lookup(["<a1@lscp.example>", "c1@lscp.example", "<nope@x.example>"])
    by_id = {s.message_id: s for s in found}
    assert set(by_id) == {"a1@lscp.example", "c1@lscp.example"}
    assert by_id["a1@lscp.example"].case_reference == "BSCP-2026-0001"
    assert by_id["c1@lscp.example"].case_reference is None
    assert by_id["a1@lscp.example"].recipient == "rita@school.example"


def test_a_long_references_header_is_looked_up_in_one_call(store_factory):
    enqueue(store_factory, item())
    with store_factory() as uow:
        ids = [f"<other{n}@x.example>" for n in range(1200)] + ["<a1@lscp.example>"]
        assert [s.message_id for s in uow.outbox.lookup(ids)] == ["a1@lscp.example"]


def test_recent_and_queued_answers_count_towards_a_recipients_rate(store_factory):
    enqueue(store_factory, *(item(key=str(n), message_id=f"r{n}@x", template="command_refusal")
                           for n in range(3)),
            item(key="notice", message_id="n1@x", template="stage_notice"))
    with store_factory() as uow:
        first, second, _third, _notice = uow.outbox.due(NOW)
        uow.outbox.mark_sent(first.id, NOW - timedelta(hours=2))
        uow.outbox.mark_sent(second.id, NOW - timedelta(minutes=10))
        uow.commit()
    with store_factory() as uow:
        since, answers = NOW - timedelta(hours=1), ("command_refusal", "command_confirmation")
        assert uow.outbox.answers_since("rita@school.example", since, answers) == 2
        assert uow.outbox.answers_since("tom@trust.example", since, answers) == 0


def test_held_mail_is_not_due_until_released(store_factory):
    enqueue(store_factory, item(key="held", message_id="h1@x", held=True), item(key="q"))
    with store_factory() as uow:
        assert [row.item.key for row in uow.outbox.due(NOW)] == ["q"]
        assert uow.outbox.held_recipients("BSCP-2026-0001") == ["rita@school.example"]
        assert uow.outbox.release_held("BSCP-2026-0001") == 1
        uow.commit()
    with store_factory() as uow:
        assert sorted(row.item.key for row in uow.outbox.due(NOW)) == ["held", "q"]


def test_the_outbox_due_query_is_served_by_its_index(uow_factory, engine):
    enqueue(uow_factory, *(item(key=str(n), message_id=f"i{n}@x") for n in range(20)))
    sql = ("SELECT id FROM outbox WHERE status = 'queued' AND next_attempt_at <= "
           "'2026-04-01 09:00:00' ORDER BY next_attempt_at LIMIT 100")
    with engine.connect() as connection:
        if engine.dialect.name == "postgresql":
            connection.exec_driver_sql("SET enable_seqscan = off")
            plan = " ".join(r[0] for r in connection.exec_driver_sql(f"EXPLAIN {sql}"))
        else:
            plan = " ".join(r[-1] for r in connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}"))
    assert "ix_outbox_due" in plan


# --- state -----------------------------------------------------------------------------------

def test_state_values_are_kept_and_overwritten(store_factory):
    with store_factory() as uow:
        assert uow.state.get("mailbox.bury.health") is None
        uow.state.set("mailbox.bury.health", "ok")
        uow.commit()
    with store_factory() as uow:
        uow.state.set("mailbox.bury.health", "failing since 09:00")
        uow.commit()
    with store_factory() as uow:
        assert uow.state.get("mailbox.bury.health") == "failing since 09:00"


@pytest.fixture
def postgres_uow_factory(postgres_url):
    migrate(postgres_url)
    engine = make_engine(postgres_url)
    sessions = make_session_factory(engine)
    yield lambda: SqlAlchemyUnitOfWork(sessions)
    engine.dispose()


def test_a_connection_lost_during_the_pipelined_insert_is_passing_trouble(postgres_uow_factory):
    # psycopg's own executemany (``pipelined``) runs outside SQLAlchemy's error handling: a
    # dropped connection must still be a DatabaseTrouble (retried), and the next unit of
    # work must get a live connection.
    with postgres_uow_factory() as uow:
        backend = uow.session.execute(text("SELECT pg_backend_pid()")).scalar_one()
        other = uow.session.get_bind().connect()  # a connection of its own from the pool
        other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": backend})
        other.close()
        with pytest.raises(DatabaseTrouble):
            uow.outbox.enqueue_many([item()])
    with postgres_uow_factory() as uow:
        assert uow.outbox.enqueue_many([item()]) == [True]
        uow.commit()
