"""Acting on stored mail on a real store: a chunk of messages to a transaction, acted on all
together, and again one message to a savepoint when one fails, so that it alone is undone and
quarantined (issue 18). Once per database."""

from __future__ import annotations

import os
import zlib
from collections import Counter
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from mailbot.adapters.jinja_renderer import JinjaRenderer
from mailbot.adapters.mail_composer import MailComposer
from mailbot.adapters.policy_files import calendar_for, load_policy
from mailbot.adapters.sqlalchemy_store import inbound
from mailbot.adapters.sqlalchemy_store.orm import CaseRow, InboundMessageRow, OutboxMessageRow
from mailbot.domain.engine import CaseEngine
from mailbot.domain.notices import Partnership
from mailbot.domain.referral import Person
from mailbot.intake.message import InboundMessage, parse_message
from mailbot.services import intake, messaging, outgoing
from mailbot.services.context import MailboxContext, Services
from mailbot.services.intake import act_on_pending, store_messages
from mailbot.services.message_routing import act_on
from mailbot.services.messaging import store_mail_waiting
from mailbot.services.ports import RawMessage
from mailbot.services.stored import MailWaiting
from tests.integration.statement_log import statements_run

pytest_plugins = ["tests.integration.db_fixtures"]
NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
MANAGER = Person("Bea Manager", "manager@bury.example")


class RefusingOne(MailComposer):
    """Composes like the real one but fails on mail to one referrer, after the case is open."""

    def compose(self, notice, *, recipient, **kwargs):
        if recipient.email == "referrer2@agency.test":
            raise RuntimeError("the mailer's template broke")
        return super().compose(notice, recipient=recipient, **kwargs)


def referral(number: int) -> bytes:
    return (f"From: Referrer {number} <referrer{number}@agency.test>\r\nTo: bsp@bury.example\r\n"
            f"Subject: Request for Resolution\r\nMessage-ID: <r{number}@agency.test>\r\n\r\n"
            f"Child's name: Child {number}\r\nReferrer's name: Referrer {number}\r\n"
            f"Referrer's email: referrer{number}@agency.test\r\n"
            f"Summary of disagreement: Disagreement number {number}.\r\n"
            "Stage reached so far: Level 1\r\n").encode()


def _bury(uow_factory, composer: MailComposer) -> tuple[Services, MailboxContext]:
    policy = load_policy("bury")
    engine = CaseEngine(policy, calendar_for(policy), Partnership("bsp@bury.example", (MANAGER,)))
    context = MailboxContext("bury", "bsp@bury.example", policy, engine, sender_trust="none")
    return Services(uow_factory=uow_factory, composer=composer, mailboxes={"bury": context}), context


def test_a_message_that_fails_is_undone_alone_and_quarantined_with_the_others_acted_on(
        uow_factory):
    services, context = _bury(uow_factory, RefusingOne(JinjaRenderer()))
    store_messages(services, [RawMessage("bury", 1, str(n), referral(n)) for n in range(1, 5)])

    assert act_on_pending(services, context, lambda: NOW) == 4

    with uow_factory() as uow:
        session = uow.session
        statuses = dict(session.execute(select(InboundMessageRow.uid, InboundMessageRow.status)).all())
        assert statuses == {"1": "processed", "2": "quarantined", "3": "processed",
                            "4": "processed"}
        # The failed referral's case and mail were undone with it; the others stand.
        assert session.scalar(select(func.count()).select_from(CaseRow)) == 3
        # Its reference was given again: the three cases hold the first three numbers.
        numbers = sorted(int(r.rpartition("-")[2]) for r in session.scalars(select(CaseRow.reference)))
        assert numbers == [1, 2, 3]
        recipients = set(session.scalars(select(OutboxMessageRow.recipient)))
        assert "referrer2@agency.test" not in recipients
        assert {"referrer1@agency.test", "referrer3@agency.test"} <= recipients
        alerts = session.scalars(select(OutboxMessageRow.template)
                                 .where(OutboxMessageRow.recipient == MANAGER.email))
        assert "quarantine_alert" in set(alerts)


def test_a_chunk_that_nothing_fails_in_takes_no_savepoint_and_stores_its_mail_at_once(
        uow_factory, monkeypatch):
    services, context = _bury(uow_factory, MailComposer(JinjaRenderer()))
    store_messages(services, [RawMessage("bury", 1, str(n), referral(n)) for n in range(1, 5)])
    sent = statements_run(uow_factory, monkeypatch)
    monkeypatch.setattr(intake, "CHUNK_SECONDS", 60.0)  # one chunk, however slow the machine

    assert act_on_pending(services, context, lambda: NOW) == 4

    kinds = Counter(next((kind for kind in ("SAVEPOINT", "INSERT INTO outbox",
                                            "FROM inbound_messages")
                          if kind in statement), "other") for statement in sent)
    assert kinds["SAVEPOINT"] == 0
    assert kinds["INSERT INTO outbox"] == 1  # the four referrals' mail, in one statement
    # The four messages claimed in one statement, after the one that found them pending.
    assert kinds["FROM inbound_messages"] == 2
    with uow_factory() as uow:
        assert uow.session.scalar(select(func.count()).select_from(CaseRow)) == 4
        assert uow.session.scalar(select(func.count()).select_from(OutboxMessageRow)) >= 8


def test_mail_held_and_still_waiting_in_the_transaction_is_released_by_accept(uow_factory):
    """A case opened and accepted in one transaction (one chunk): the held mail composed for
    the stranger it names is stored before ACCEPT releases the case's held mail, not after."""
    services, context = _bury(uow_factory, MailComposer(JinjaRenderer()))
    naming_a_stranger = referral(1).replace(
        b"Stage reached", b"Other agency contact's email: stranger@other.test\r\nStage reached")
    store_messages(services, [RawMessage("bury", 1, "1", naming_a_stranger)])
    with uow_factory() as uow:
        uow.mail_waiting = MailWaiting()
        [record] = uow.inbound.pending("bury")
        handled = act_on(services, uow, context, parse_message(uow.inbound.raw(record.id)), NOW)
        assert any(item.held for _, item in uow.mail_waiting.rows)
        outgoing.accept(uow, context, uow.cases.get(handled.case_reference), NOW)
        store_mail_waiting(uow)
        uow.commit()

    with uow_factory() as uow:
        statuses = dict(uow.session.execute(
            select(OutboxMessageRow.recipient, OutboxMessageRow.status)).all())
    assert statuses["stranger@other.test"] == "queued"


def _two_referrals_stored(uow_factory) -> tuple[Services, MailboxContext]:
    services, context = _bury(uow_factory, MailComposer(JinjaRenderer()))
    store_messages(services, [RawMessage("bury", 1, str(n), referral(n)) for n in (1, 2)])
    return services, context


def _keeping_mail_waiting(uow) -> list[InboundMessage]:
    """Sets the unit of work to keep its mail waiting; the messages pending, parsed."""
    uow.mail_waiting = MailWaiting()
    return [parse_message(uow.inbound.raw(record.id)) for record in uow.inbound.pending("bury")]


def test_a_savepoint_begins_with_no_mail_waiting_and_drops_the_mail_composed_inside_it(
        uow_factory):
    services, context = _two_referrals_stored(uow_factory)
    with uow_factory() as uow:
        first, second = _keeping_mail_waiting(uow)
        act_on(services, uow, context, first, NOW)
        with pytest.raises(RuntimeError, match="before a savepoint"), uow.savepoint():
            pass
        store_mail_waiting(uow)
        with pytest.raises(ValueError), uow.savepoint():
            act_on(services, uow, context, second, NOW)
            assert uow.mail_waiting
            raise ValueError("undone")
        assert not uow.mail_waiting  # the undone case's mail does not outlive it


def test_mail_waiting_past_its_byte_budget_is_stored_at_once(uow_factory, monkeypatch):
    services, context = _two_referrals_stored(uow_factory)
    with uow_factory() as uow:
        first, second = _keeping_mail_waiting(uow)
        act_on(services, uow, context, first, NOW)
        assert uow.mail_waiting
        monkeypatch.setattr(messaging, "WAITING_BYTES", 1)
        act_on(services, uow, context, second, NOW)
        assert not uow.mail_waiting  # both referrals' mail went to the outbox
        stored = uow.session.scalar(select(func.count()).select_from(OutboxMessageRow))
        assert stored >= 4


def test_a_message_too_large_to_come_with_its_claim_is_acted_on_with_the_others(uow_factory):
    services, context = _bury(uow_factory, MailComposer(JinjaRenderer()))
    padding = b"".join(b"X-Padding: %s\r\n" % os.urandom(30).hex().encode()
                       for _ in range(12000))  # about 450 KB after zlib
    large = referral(2).replace(b"Subject:", padding + b"Subject:")
    assert len(zlib.compress(large, 1)) > inbound._CARRIED_BYTES
    store_messages(services, [RawMessage("bury", 1, "1", referral(1)),
                              RawMessage("bury", 1, "2", large),
                              RawMessage("bury", 1, "3", referral(3))])

    assert act_on_pending(services, context, lambda: NOW) == 3

    with uow_factory() as uow:
        statuses = set(uow.session.scalars(select(InboundMessageRow.status)))
        referrers = set(uow.session.scalars(select(OutboxMessageRow.recipient)))
    assert statuses == {"processed"}
    assert "referrer2@agency.test" in referrers
