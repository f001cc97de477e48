"""Workers sharing one database (issue 14), on SQLite and PostgreSQL: each stored message is
acted on by one of them, the same message stored by two is one record, two deadline passes at
once queue each chaser once, and the leases give each mailbox and the deadline pass to one
worker at a time, shared fairly and taken over when a worker stops renewing."""

from __future__ import annotations

import collections
import threading
from datetime import timedelta

import pytest
from sqlalchemy import select

from mailbot.adapters.directory_mailer import DirectoryMailer
from mailbot.adapters.sqlalchemy_store.orm import CaseRow, InboundMessageRow, OutboxMessageRow
from mailbot.services.deadlines import run_deadline_pass
from mailbot.services.intake import act_on_pending, store_messages
from mailbot.services.leases import DEADLINE_PASS, keep_share, let_go
from mailbot.services.ports import OutgoingEmail, RawMessage
from mailbot.services.sending import CLAIM_BATCH, send_queued
from tests.integration.test_smtp_outage import MONDAY, referral, services  # noqa: F401 (fixture)

pytest_plugins = ["tests.integration.db_fixtures"]

REFERRALS = 30
CHASERS = ("reminder", "due_today", "overdue")


def _together(count: int, work) -> list:
    """Runs ``work()`` on ``count`` threads released at one moment; returns their results."""
    start, results, errors = threading.Barrier(count), [], []

    def run() -> None:
        start.wait()
        try:
            results.append(work())
        except Exception as error:  # reported below, in the test's own thread
            errors.append(error)

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    return results


def _raws(count: int, uidvalidity: int = 1) -> list[RawMessage]:
    return [RawMessage("bury", uidvalidity, str(n), referral(n, f"referrer{n}@school.example"))
            for n in range(count)]


def _rows(store, row) -> list:
    with store.uow_factory() as uow:
        rows = list(uow.session.scalars(select(row)))
        uow.session.expunge_all()
    return rows


def test_three_workers_acting_on_one_stored_batch_open_each_case_once(services):  # noqa: F811
    store_messages(services, _raws(REFERRALS))
    context = services.mailboxes["bury"]
    handled = _together(3, lambda: act_on_pending(services, context, lambda: MONDAY, batch=7))
    assert sum(handled) == REFERRALS, handled
    assert len(_rows(services, CaseRow)) == REFERRALS
    acknowledgements = collections.Counter(
        row.recipient for row in _rows(services, OutboxMessageRow) if row.template == "acknowledgement")
    assert len(acknowledgements) == REFERRALS and set(acknowledgements.values()) == {1}
    assert {row.status for row in _rows(services, InboundMessageRow)} == {"processed"}


def test_the_same_batch_stored_by_three_pollers_at_once_is_stored_once(services):  # noqa: F811
    new = _together(3, lambda: store_messages(services, _raws(REFERRALS)))
    assert sum(new) == REFERRALS
    assert len(_rows(services, InboundMessageRow)) == REFERRALS


def test_a_message_being_acted_on_is_passed_by_and_one_acted_on_is_not_taken_again(services):  # noqa: F811
    store_messages(services, _raws(1))
    [record] = _rows(services, InboundMessageRow)
    with services.uow_factory() as first:
        assert first.inbound.claim_many([record.id]) == {record.id}
        if first.session.get_bind().dialect.name == "postgresql":
            # SQLite's second transaction would wait for the write lock; PostgreSQL's skips.
            with services.uow_factory() as second:
                assert not second.inbound.claim_many([record.id])
        first.inbound.mark(record.id, "processed")
        first.commit()
    with services.uow_factory() as later:
        assert not later.inbound.claim_many([record.id])


def test_two_deadline_passes_at_once_queue_each_chaser_once(services):  # noqa: F811
    store_messages(services, _raws(REFERRALS))
    act_on_pending(services, services.mailboxes["bury"], lambda: MONDAY)
    later = MONDAY + timedelta(days=11)  # a reminder is due for each case
    queued = _together(2, lambda: run_deadline_pass(services, later))
    chasers = [(row.case_reference, row.template, row.stage, row.key, row.recipient)
               for row in _rows(services, OutboxMessageRow) if row.template in CHASERS]
    assert len({reference for reference, *_ in chasers}) == REFERRALS, "every case was chased"
    assert sum(queued) == len(chasers) and len(set(chasers)) == len(chasers)
    assert run_deadline_pass(services, later) == 0


def test_leases_go_to_one_holder_until_they_run_out(uow_factory):
    def take(holder: str, at) -> bool:
        with uow_factory() as uow:
            taken = uow.leases.take("mailbox:bury", holder, at, at + timedelta(seconds=30))
            uow.commit()
        return taken

    assert take("a", MONDAY)
    assert not take("b", MONDAY + timedelta(seconds=10)), "a's lease still runs"
    assert take("a", MONDAY + timedelta(seconds=20)), "the holder renews it"
    assert not take("b", MONDAY + timedelta(seconds=45))
    assert take("b", MONDAY + timedelta(seconds=51)), "a stopped renewing: b takes over"
    with uow_factory() as uow:
        [lease] = uow.leases.running("mailbox:", MONDAY + timedelta(seconds=51))
    assert (lease.holder, lease.since) == ("b", MONDAY + timedelta(seconds=51))
    assert not take("a", MONDAY + timedelta(seconds=52))


def test_two_holders_racing_for_a_free_lease_get_it_once(uow_factory):
    def take(holder: str) -> bool:
        with uow_factory() as uow:
            taken = uow.leases.take("deadline-pass", holder, MONDAY, MONDAY + timedelta(minutes=1))
            uow.commit()
        return taken

    names = ["a", "b", "c"]
    assert sorted(_together(3, lambda: take(names.pop()))) == [False, False, True]


def test_renewing_keeps_only_the_holders_running_leases_and_when_each_was_taken(uow_factory):
    later = MONDAY + timedelta(seconds=20)
    with uow_factory() as uow:
        for name, holder, seconds in (("mine", "a", 30), ("ran-out", "a", 10), ("theirs", "b", 30)):
            assert uow.leases.take(name, holder, MONDAY, MONDAY + timedelta(seconds=seconds))
        uow.commit()
    with uow_factory() as uow:
        renewed = uow.leases.renew(["mine", "ran-out", "theirs", "never"], "a", later,
                                   later + timedelta(seconds=30))
        uow.commit()
    assert renewed == {"mine"}
    with uow_factory() as uow:
        running = {lease.name: lease for lease in uow.leases.running("", later)}
    assert running["mine"].expires_at == later + timedelta(seconds=30)
    assert running["mine"].since == MONDAY, "a renewal keeps the moment it was taken"
    assert running["theirs"].holder == "b" and "ran-out" not in running


def test_a_worker_keeping_many_mailboxes_renews_them_in_one_transaction(services, monkeypatch):  # noqa: F811
    mailboxes = [f"partnership{n}" for n in range(40)]
    everything = {f"mailbox:{m}" for m in mailboxes} | {DEADLINE_PASS}
    valid = timedelta(seconds=45)
    assert keep_share(services, "a", mailboxes, MONDAY, valid) == everything
    opened = collections.Counter()
    factory = services.uow_factory

    def counted():
        opened["transactions"] += 1
        return factory()

    monkeypatch.setattr(services, "uow_factory", counted)
    assert keep_share(services, "a", mailboxes, MONDAY + timedelta(seconds=15), valid) == everything
    # Its own lease, the running leases read, one renewal: not one transaction a mailbox.
    assert opened["transactions"] == 3
    with factory() as uow:
        running = uow.leases.running("", MONDAY + timedelta(seconds=50))
    assert {lease.name for lease in running} >= everything, "renewed until 15 s + 45 s"


@pytest.mark.parametrize("mailboxes", [["bury", "hackney", "bromley", "berkshire"]])
def test_workers_share_the_mailboxes_and_the_survivor_takes_all_when_one_stops(services, mailboxes):  # noqa: F811
    valid = timedelta(seconds=45)

    def round_(holder, seconds):
        return keep_share(services, holder, mailboxes, MONDAY + timedelta(seconds=seconds), valid)

    assert round_("a", 0) == {f"mailbox:{m}" for m in mailboxes} | {DEADLINE_PASS}
    assert round_("b", 1) == set(), "all of them are a's until a hands some on"
    a = round_("a", 15)
    assert len(a - {DEADLINE_PASS}) == 2 and DEADLINE_PASS in a, "a keeps its half"
    b = round_("b", 16)
    assert len(b) == 2 and not a & b, "b takes the other half"
    # a stops renewing (killed): once its leases have run out, b holds everything.
    assert round_("b", 31) == b
    assert round_("b", 61) == {f"mailbox:{m}" for m in mailboxes} | {DEADLINE_PASS}
    let_go(services, "b", list(round_("b", 70)))
    with services.uow_factory() as uow:
        assert uow.leases.running("", MONDAY + timedelta(seconds=71)) == [], "a clean stop"


def test_mail_a_dead_send_pass_had_written_is_not_written_again(services, tmp_path):  # noqa: F811
    store_messages(services, _raws(2))
    act_on_pending(services, services.mailboxes["bury"], lambda: MONDAY)
    mailer = DirectoryMailer(tmp_path / "outbox")
    with services.uow_factory() as uow:  # a pass claims the mail, writes it, and is killed
        rows = uow.outbox.due(MONDAY)
        assert uow.outbox.claim([row.id for row in rows], MONDAY, MONDAY + timedelta(minutes=1))
        uow.commit()
    for row in rows[:-1]:
        mailer.send(OutgoingEmail(row.item.message_id, row.item.envelope_from,
                                  (row.item.recipient,), row.item.data))
    # Its claims run out; the next pass sends only the message the dead one had not written.
    assert send_queued(services, mailer, MONDAY + timedelta(minutes=2)) == len(rows)
    assert len(list((tmp_path / "outbox").glob("*.eml"))) == len(rows)
    assert {row.status for row in _rows(services, OutboxMessageRow)} == {"sent"}


def test_a_send_pass_told_to_stop_sends_what_it_claimed_and_leaves_the_rest_unclaimed(
        services, tmp_path):  # noqa: F811
    store_messages(services, _raws(20))
    act_on_pending(services, services.mailboxes["bury"], lambda: MONDAY)
    queued = len(_rows(services, OutboxMessageRow))
    assert queued > 2 * CLAIM_BATCH, "enough mail for more than one batch of claims"
    mailer = DirectoryMailer(tmp_path / "outbox")
    written = lambda: len(list((tmp_path / "outbox").glob("*.eml")))  # noqa: E731

    # The worker is told to stop while the pass writes its first message.
    assert send_queued(services, mailer, MONDAY, stopping=lambda: written() > 0) == CLAIM_BATCH
    rows = _rows(services, OutboxMessageRow)
    assert sum(row.status == "sent" for row in rows) == CLAIM_BATCH
    left = [row for row in rows if row.status != "sent"]
    assert left and all(row.claimed_until is None for row in left), "nothing left claimed"
    # The next pass takes the rest at once, not once a claim has run out.
    assert send_queued(services, mailer, MONDAY) == queued - CLAIM_BATCH
    assert written() == queued
