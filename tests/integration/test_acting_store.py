"""Acting on stored mail on a real store: a chunk of messages to a transaction, each in a
savepoint, so one that fails is undone alone and quarantined (issue 18). Once per database."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select

from mailbot.adapters.jinja_renderer import JinjaRenderer
from mailbot.adapters.mail_composer import MailComposer
from mailbot.adapters.policy_files import calendar_for, load_policy
from mailbot.adapters.sqlalchemy_store.orm import CaseRow, InboundMessageRow, OutboxMessageRow
from mailbot.domain.engine import CaseEngine
from mailbot.domain.notices import Partnership
from mailbot.domain.referral import Person
from mailbot.services.context import MailboxContext, Services
from mailbot.services.intake import act_on_pending, store_messages
from mailbot.services.ports import RawMessage

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


def test_a_message_that_fails_is_undone_alone_and_quarantined_with_the_others_acted_on(
        uow_factory):
    policy = load_policy("bury")
    engine = CaseEngine(policy, calendar_for(policy), Partnership("bsp@bury.example", (MANAGER,)))
    context = MailboxContext("bury", "bsp@bury.example", policy, engine, sender_trust="none")
    services = Services(uow_factory=uow_factory, composer=RefusingOne(JinjaRenderer()),
                        mailboxes={"bury": context})
    store_messages(services, [RawMessage("bury", 1, str(n), referral(n)) for n in range(1, 5)])

    assert act_on_pending(services, context, lambda: NOW) == 4

    with uow_factory() as uow:
        session = uow.session
        statuses = dict(session.execute(select(InboundMessageRow.uid, InboundMessageRow.status)).all())
        assert statuses == {"1": "processed", "2": "quarantined", "3": "processed",
                            "4": "processed"}
        # The failed referral's case and mail were undone with it; the others stand.
        assert session.scalar(select(func.count()).select_from(CaseRow)) == 3
        recipients = set(session.scalars(select(OutboxMessageRow.recipient)))
        assert "referrer2@agency.test" not in recipients
        assert {"referrer1@agency.test", "referrer3@agency.test"} <= recipients
        alerts = session.scalars(select(OutboxMessageRow.template)
                                 .where(OutboxMessageRow.recipient == MANAGER.email))
        assert "quarantine_alert" in set(alerts)
