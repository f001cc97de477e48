"""An SMTP outage, end to end through the real send pass: nothing lost, nothing sent twice.

Referrals go in through the real intake service, which queues their mail in the real store
(SQLite and PostgreSQL); ``send_queued`` then delivers it with the real ``SmtpMailer`` to an
aiosmtpd server on loopback that is first down (connection refused), then answers every
transaction with 421/451, then recovers. The clock is an argument, so backoff is stepped
through by passing later times, never by sleeping.
"""

from __future__ import annotations

import collections
from collections.abc import Callable
from datetime import datetime, timedelta
from email import message_from_bytes
from email.policy import default

import pytest
from sqlalchemy import select

from mailbot.adapters.jinja_renderer import JinjaRenderer
from mailbot.adapters.mail_composer import MailComposer
from mailbot.adapters.policy_files import calendar_for, load_policy
from mailbot.adapters.smtp_mailer import SmtpMailer
from mailbot.adapters.sqlalchemy_store.orm import OutboxMessageRow
from mailbot.domain.engine import CaseEngine
from mailbot.domain.notices import Partnership
from mailbot.domain.referral import Person
from mailbot.domain.working_days import LONDON
from mailbot.services.context import MailboxContext, Services
from mailbot.services.ports import RawMessage
from mailbot.services.sending import AUTHENTICATION_RETRY, BACKOFF_BASE, send_queued
from tests.servers.smtp import SmtpServer
from tests.unit.delivery import deliver_raw

pytest_plugins = ["tests.integration.db_fixtures"]

PARTNERSHIP = "bsp@bury.example"
MANAGER = "manager@bury.example"
GONE = "gone@school.example"  # the relay answers 550 for this referrer
REFERRERS = [f"referrer{n}@school.example" for n in range(4)] + [GONE]
MONDAY = datetime(2026, 11, 23, 10, 0, tzinfo=LONDON)


def referral(number: int, referrer: str) -> bytes:
    text = (f"From: Referrer {number} <{referrer}>\nTo: {PARTNERSHIP}\n"
            f"Subject: Request for resolution\nMessage-ID: <referral-{number}@school.example>\n\n"
            f"Child's name: Child {number}\nDate of birth: 14/03/2015\n"
            f"Referrer's name: Referrer {number}\nReferrer's email: {referrer}\n"
            f"Agency/Team: School {number}\n"
            f"Summary of disagreement: Disagreement number {number}.\n"
            "Stage reached so far: Level 1\n")
    return text.replace("\n", "\r\n").encode()


@pytest.fixture
def services(uow_factory) -> Services:
    policy = load_policy("bury")
    partnership = Partnership(PARTNERSHIP, (Person("Business Manager", MANAGER),))
    context = MailboxContext("bury", PARTNERSHIP, policy,
                             CaseEngine(policy, calendar_for(policy), partnership),
                             sender_trust="none")
    return Services(uow_factory, MailComposer(JinjaRenderer()), {"bury": context})


@pytest.fixture
def relay(start_smtp_server: Callable[..., SmtpServer]) -> SmtpServer:
    server = start_smtp_server()
    server.refuse(GONE, "550 5.1.1 <gone@school.example>: no such user")
    return server


@pytest.fixture
def mailer(relay: SmtpServer):
    mailer = SmtpMailer(relay.host, relay.port, "none", timeout=5)
    yield mailer
    mailer.close()


def queue_referrals(services: Services) -> None:
    context = services.mailboxes["bury"]
    for number, referrer in enumerate(REFERRERS):
        raw = RawMessage("bury", 1, str(number), referral(number, referrer))
        assert deliver_raw(services, context, raw, MONDAY).status == "processed"


def outbox(services: Services) -> list[OutboxMessageRow]:
    with services.uow_factory() as uow:
        rows = list(uow.session.scalars(select(OutboxMessageRow).order_by(OutboxMessageRow.id)))
        uow.session.expunge_all()
    return rows


def received_ids(relay: SmtpServer) -> collections.Counter[str]:
    return collections.Counter(
        str(message_from_bytes(m.data, policy=default)["Message-ID"]).strip("<>")
        for m in relay.received)


def test_mail_queued_during_an_outage_is_all_delivered_exactly_once_when_the_relay_returns(
        services, relay, mailer):
    queue_referrals(services)
    queued = outbox(services)
    message_ids = {row.id: row.message_id for row in queued}
    to_gone = {row.id for row in queued if row.recipient == GONE}  # acknowledgement, stage notice
    assert len(queued) >= 3 * len(REFERRERS)  # acknowledgement, new case and stage notice each

    # Down: every connection is refused. Nothing is delivered and nothing is given up on.
    relay.stop()
    assert send_queued(services, mailer, MONDAY) == 0
    assert {(r.status, r.attempts) for r in outbox(services)} == {("queued", 1)}
    # Within the backoff nothing is due, so a pass does not hammer the relay.
    assert send_queued(services, mailer, MONDAY + BACKOFF_BASE / 2) == 0
    assert {r.attempts for r in outbox(services)} == {1}

    # Up but refusing for now: 421 and 451 alternately, to every transaction of the pass.
    relay.start()
    refusals = ("421 4.3.2 Service not available, closing channel",
                "451 4.7.1 Greylisted, please try again later")
    relay.fail_next(*(refusals[n % 2] for n in range(len(queued))))
    second = MONDAY + BACKOFF_BASE
    assert send_queued(services, mailer, second) == 0
    rows = outbox(services)
    assert {(r.status, r.attempts) for r in rows} == {("queued", 2)}
    assert {r.last_error.rsplit("(", 1)[-1][:3] for r in rows} == {"421", "451"}
    assert relay.attempts == len(queued) and relay.received == []

    # Recovered: the next pass after the doubled backoff delivers everything but the 550s.
    third = second + BACKOFF_BASE * 2
    assert send_queued(services, mailer, third) == len(queued) - len(to_gone)
    rows = {r.id: r for r in outbox(services)}
    refused = [r for r in rows.values() if r.status == "failed"]
    assert {r.id for r in refused} == to_gone
    assert all("550" in r.last_error for r in refused)

    # Each 550 was reported to the business manager; those reports go out on the next pass.
    alerts = [r for r in rows.values() if r.template == "bounce_alert"]
    assert [(a.recipient, a.status) for a in alerts] == [(MANAGER, "queued")] * len(to_gone)
    assert send_queued(services, mailer, third) == len(to_gone)
    assert send_queued(services, mailer, third + timedelta(days=1)) == 0

    # Every row delivered exactly once, under the Message-ID fixed when it was queued.
    final = outbox(services)
    delivered = [r for r in final if r.status == "sent"]
    assert {r.id for r in delivered} == set(message_ids) - to_gone | {a.id for a in alerts}
    assert all(message_ids.get(r.id, r.message_id) == r.message_id for r in final)
    counts = received_ids(relay)
    assert counts == collections.Counter(r.message_id for r in delivered)
    assert max(counts.values()) == 1
    reports = [m for m in relay.received if b"X-Mailbot-Template: bounce_alert" in m.data]
    assert len(reports) == len(to_gone) and all(GONE.encode() in m.data for m in reports)
    with services.uow_factory() as uow:  # and the case's record says so
        case = uow.cases.get(next(r.case_reference for r in refused))
        bounces = [e for e in case.history if e.kind.value == "BounceReceived"]
        assert len(bounces) == len(to_gone) and all(GONE in e.text for e in bounces)


def test_a_permanent_refusal_does_not_hold_back_the_mail_queued_behind_it(services, relay, mailer):
    queue_referrals(services)
    queued = outbox(services)
    # The refused acknowledgement is not the last row, so mail behind it must still go.
    to_gone = sum(r.recipient == GONE for r in queued)
    assert [r.recipient for r in queued].index(GONE) < len(queued) - to_gone
    assert send_queued(services, mailer, MONDAY) == len(queued) - to_gone
    assert send_queued(services, mailer, MONDAY) == to_gone  # the reports to the business manager
    statuses = collections.Counter((r.recipient == GONE, r.status) for r in outbox(services))
    assert statuses == {(True, "failed"): to_gone, (False, "sent"): len(queued)}
    assert len(relay.received) == len(queued)


def test_undeliverable_mail_about_no_case_is_reported_too(services, relay, mailer):
    # An incomplete referral gets a reply asking for corrections; that reply belongs to no case.
    incomplete = referral(9, GONE).replace(b"Summary of disagreement: Disagreement number 9.\r\n", b"")
    context = services.mailboxes["bury"]
    assert deliver_raw(services, context, RawMessage("bury", 1, "9", incomplete),
                       MONDAY).case_reference is None
    assert send_queued(services, mailer, MONDAY) == 0
    assert send_queued(services, mailer, MONDAY) == 1
    [alert] = relay.received
    assert alert.recipients == (MANAGER,)
    text = message_from_bytes(alert.data, policy=default)
    assert str(text["Subject"]).startswith("Undeliverable")
    assert GONE in text.get_body(("plain",)).get_content()


def test_a_refused_login_keeps_the_mail_queued_uncounted_until_the_password_is_fixed(
        services, start_smtp_server):
    relay = start_smtp_server(credentials={PARTNERSHIP: "the new password"})
    queue_referrals(services)
    queued = outbox(services)
    to_gone = sum(r.recipient == GONE for r in queued)
    relay.refuse(GONE, "550 5.1.1 no such user")

    # The old password: one refused login holds every message from that address, nothing is
    # marked undeliverable and no attempt is counted against any message.
    old = SmtpMailer(relay.host, relay.port, "none", username=PARTNERSHIP,
                     password="the old password", timeout=5)
    assert send_queued(services, old, MONDAY) == 0
    old.close()
    rows = outbox(services)
    assert {(r.status, r.attempts) for r in rows} == {("queued", 0)}
    assert all("login refused" in r.last_error for r in rows)
    assert relay.received == []

    # Fixed: after the pause everything goes, once.
    new = SmtpMailer(relay.host, relay.port, "none", username=PARTNERSHIP,
                     password="the new password", timeout=5)
    try:
        assert send_queued(services, new, MONDAY + AUTHENTICATION_RETRY / 2) == 0
        assert send_queued(services, new, MONDAY + AUTHENTICATION_RETRY) == len(queued) - to_gone
    finally:
        new.close()
    assert max(received_ids(relay).values()) == 1
