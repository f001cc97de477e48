"""Issue 14: intake loses nothing a person sent and loops on nothing a mail server sent.

The same message delivered to two partnership mailboxes is handled in each; a contact
address on the form that no mailer would take is dropped from the case (with a warning to
the business managers), never the referral; a business manager's own mailbox that bounces
mailbot's alerts never starts a loop of alerts about alerts.
"""

from __future__ import annotations

from mailbot.adapters.jinja_renderer import JinjaRenderer
from mailbot.adapters.mail_composer import MailComposer
from mailbot.domain.errors import PermanentError
from mailbot.domain.notices import Notice, Template
from mailbot.domain.service_notice_contexts import ForAttention
from mailbot.services.context import Services
from mailbot.services.intake import store_messages
from mailbot.services.outgoing import queue_for
from mailbot.services.polling import drain_mailbox
from mailbot.services.ports import RawMessage
from mailbot.services.sending import send_queued
from tests.unit.bury_mailbox import BM, MONDAY, mailbox_context
from tests.unit.bury_mailbox import REFERRAL as BURY_REFERRAL
from tests.unit.delivery import deliver_raw
from tests.unit.fakes import FakeDatabase, FakeUnitOfWork

BM2 = "deputy@bury.example"
REFERRAL = BURY_REFERRAL.replace("To: bsp@bury.example", "To: bsp@bury.example, bsp@hackney.example")


def world(managers: tuple[str, ...] = (BM,)):
    contexts = {"bury": mailbox_context(managers=managers),
                "hackney": mailbox_context("hackney", "bsp@hackney.example", "hackney")}
    db = FakeDatabase()
    services = Services(lambda: FakeUnitOfWork(db), MailComposer(JinjaRenderer()), contexts)
    return services, contexts, db


def raw(text: str, uid: str, mailbox: str = "bury") -> RawMessage:
    return RawMessage(mailbox, 1, uid, text.replace("\n", "\r\n").encode())


def rows(db, template: str | None = None, recipient: str | None = None):
    return [r.item for r in db.outbox.values() if template in (None, r.item.template)
            and recipient in (None, r.item.recipient)]


class OneBatch:
    """A mailbox holding one batch of messages, for drain_mailbox."""

    def __init__(self, messages):
        self.messages = list(messages)

    def fetch_new(self, limit):
        batch, self.messages = self.messages, []
        return batch

    def mark_all_processed(self, messages):
        pass


def test_the_same_message_in_two_partnership_mailboxes_is_handled_in_each():
    services, contexts, db = world()
    for name in ("bury", "hackney"):
        drain_mailbox(services, contexts[name], OneBatch([raw(REFERRAL, "1", name)]),
                      lambda: MONDAY)
    assert sorted(r.mailbox for r in db.inbound.values()) == ["bury", "hackney"]
    assert sorted(db.cases) == ["BSCP-2026-0001", "CHSCP-2026-0001"]


def test_the_same_message_stored_for_two_mailboxes_in_one_batch_is_kept_twice():
    services, _, db = world()
    assert store_messages(services, [raw(REFERRAL, "1", "bury"), raw(REFERRAL, "1", "hackney")]) == 2


def test_the_same_message_received_one_by_one_in_two_mailboxes_is_handled_in_each():
    services, contexts, db = world()
    first = deliver_raw(services, contexts["bury"], raw(REFERRAL, "7", "bury"), MONDAY)
    second = deliver_raw(services, contexts["hackney"], raw(REFERRAL, "7", "hackney"), MONDAY)
    assert first.case_reference == "BSCP-2026-0001"
    assert second.case_reference == "CHSCP-2026-0001"


def test_a_contact_address_no_mailer_takes_is_dropped_and_the_referral_still_opens():
    services, contexts, db = world()
    text = REFERRAL.replace("Desired outcome:", "Safeguarding lead's name: Tom Reid\n"
                            "Safeguarding lead's email: tom..reid@example.org\nDesired outcome:")
    handled = deliver_raw(services, contexts["bury"], raw(text, "1"), MONDAY)
    assert handled.status == "processed" and handled.case_reference == "BSCP-2026-0001"
    case = db.cases["BSCP-2026-0001"]
    assert all(p.email != "tom..reid@example.org" for p in case.everyone())
    assert [i.recipient for i in rows(db, "acknowledgement")] == ["priya@school.example"]
    new_case = rows(db, "new_case", BM)[0].data.decode()
    assert "tom..reid@example.org" in new_case, "the business managers are told what was dropped"
    assert not rows(db, "quarantine_alert")


def test_a_referrers_own_unusable_address_gives_way_to_the_senders():
    services, contexts, db = world()
    text = REFERRAL.replace("Referrer's email: priya@school.example",
                            "Referrer's email: priya..shah@school.example")
    handled = deliver_raw(services, contexts["bury"], raw(text, "1"), MONDAY)
    assert handled.case_reference == "BSCP-2026-0001"
    assert [i.recipient for i in rows(db, "acknowledgement")] == ["priya@school.example"]


def _bounce_of(message_id: str, recipient: str, number: int) -> str:
    return (f"From: Mail Delivery System <MAILER-DAEMON@mx.bury.example>\n"
            f"To: bsp@bury.example\nSubject: Undelivered Mail Returned to Sender\n"
            f"Message-ID: <bounce-{number}@mx.bury.example>\nMIME-Version: 1.0\n"
            'Content-Type: multipart/report; report-type=delivery-status; boundary="b"\n\n'
            "--b\nContent-Type: text/plain\n\nYour message could not be delivered.\n"
            "--b\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; mx.bury.example\n\n"
            f"Final-Recipient: rfc822; {recipient}\nAction: failed\nStatus: 5.2.2\n\n"
            "--b\nContent-Type: text/rfc822-headers\n\n"
            f"Message-ID: <{message_id}>\nSubject: [BSCP-2026-0001]\n\n--b--\n")


def _bounce_every_alert_to(services, context, db, address: str, rounds: int) -> None:
    """The business manager's mailbox is full: every alert sent to it comes back."""
    bounced: set[str] = set()
    for number in range(rounds):
        waiting = [i for i in rows(db, recipient=address) if i.message_id not in bounced]
        if not waiting:
            return
        item = waiting[0]
        bounced.add(item.message_id)
        deliver_raw(services, context, raw(_bounce_of(item.message_id, address, number),
                                               f"b{number}"), MONDAY)


def test_a_business_managers_bouncing_mailbox_raises_no_alert_to_itself():
    services, contexts, db = world((BM, BM2))
    deliver_raw(services, contexts["bury"], raw(REFERRAL, "1"), MONDAY)
    sent_before = len(rows(db, recipient=BM))
    _bounce_every_alert_to(services, contexts["bury"], db, BM, rounds=10)
    assert len(rows(db, recipient=BM)) == sent_before, "no alert about the bounce of an alert"
    assert len(rows(db, "bounce_alert", BM2)) == 1, "the other business manager is told once"
    events = [e for e in db.cases["BSCP-2026-0001"].history if e.kind.value == "BounceReceived"]
    assert events, "the bounce is on the record"


def test_a_lone_business_managers_bouncing_mailbox_is_recorded_and_never_loops():
    services, contexts, db = world((BM,))
    deliver_raw(services, contexts["bury"], raw(REFERRAL, "1"), MONDAY)
    sent_before = len(db.outbox)
    _bounce_every_alert_to(services, contexts["bury"], db, BM, rounds=10)
    assert len(db.outbox) == sent_before


def test_a_practitioners_bounce_still_alerts_the_business_managers():
    services, contexts, db = world((BM, BM2))
    deliver_raw(services, contexts["bury"], raw(REFERRAL, "1"), MONDAY)
    ack = rows(db, "acknowledgement")[0]
    deliver_raw(services, contexts["bury"],
                    raw(_bounce_of(ack.message_id, ack.recipient, 1), "b1"), MONDAY)
    assert sorted(i.recipient for i in rows(db, "bounce_alert")) == [BM2, BM]


class RefusingMailer:
    """An SMTP server that refuses one address for good (a deleted business manager)."""

    def __init__(self, refused: str):
        self.refused, self.sent = refused, []

    def send(self, email):
        if self.refused in email.recipients:
            raise PermanentError(f"550 5.1.1 <{self.refused}>: user unknown")
        self.sent.append(email)


def test_an_alert_the_mail_server_refuses_is_not_alerted_about():
    services, contexts, db = world((BM, BM2))
    alert = Notice(Template.FOR_ATTENTION, contexts["bury"].partnership.business_managers,
                   key="x", context=ForAttention(heading="For your attention", sender="someone",
                                                 verified=False, text="", happened=["something"]))
    with services.uow_factory() as uow:
        queue_for(services, uow, contexts["bury"], [alert], None, MONDAY)
        uow.commit()
    send_queued(services, RefusingMailer(BM), MONDAY)
    assert not rows(db, "bounce_alert"), "no alert about the failure of an alert"


def test_a_referrer_with_no_address_left_still_opens_a_case_for_the_business_managers():
    services, contexts, db = world()
    text = (REFERRAL.replace("From: Priya Shah <priya@school.example>", "From: Priya Shah")
            .replace("Referrer's email: priya@school.example",
                     "Referrer's phone: 0161 555 0100\nReferrer's email: priya..shah@school.example"))
    handled = deliver_raw(services, contexts["bury"], raw(text, "1"), MONDAY)
    assert handled.case_reference == "BSCP-2026-0001", handled
    assert [i.recipient for i in rows(db, "new_case")] == [BM]
