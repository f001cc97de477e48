"""The use cases over hand-written fakes of the store and composer: intake, replies,
deadlines and sending, with real parsing, classification and the real Bury policy."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from mailbot.domain.errors import AuthenticationFailed, PermanentError, TransientError
from mailbot.domain.working_days import LONDON
from mailbot.services.context import Services
from mailbot.services.deadlines import run_deadline_pass
from mailbot.services.intake import act_on_pending, store_messages
from mailbot.services.polling import drain_mailbox
from mailbot.services.ports import RawMessage
from mailbot.services.sending import AUTHENTICATION_RETRY, BACKOFF_BASE, send_queued
from tests.unit.bury_mailbox import BM, MONDAY, REFERRAL, mailbox_context
from tests.unit.delivery import deliver_raw
from tests.unit.fakes import FakeDatabase, FakeUnitOfWork, RecordingComposer


@pytest.fixture
def world():
    context = mailbox_context()
    db = FakeDatabase()
    composer = RecordingComposer()
    services = Services(lambda: FakeUnitOfWork(db), composer, {"bury": context})
    return services, context, db, composer


def deliver(services, context, text: str, uid: str, now=MONDAY):
    raw = RawMessage("bury", 1, uid, text.replace("\n", "\r\n").encode())
    return deliver_raw(services, context, raw, now)


def queued(db, template=None):
    return [r.item for r in db.outbox.values() if template in (None, r.item.template)]


def reply(db, text: str, *, sender=BM, uid="r1", to_template="new_case", message_id="<rep@x>"):
    ours = next(i.message_id for i in queued(db, to_template) if i.recipient == sender)
    return (f"From: {sender}\nTo: bsp@bury.example\nSubject: Re: [BSCP-2026-0001] case\n"
            f"Message-ID: {message_id}\nIn-Reply-To: <{ours}>\n\n{text}\n")


def test_a_structured_email_opens_a_case_and_queues_acknowledgement_and_notices(world):
    services, context, db, _ = world
    handled = deliver(services, context, REFERRAL, "1")
    assert handled.case_reference == "BSCP-2026-0001"
    case = db.cases["BSCP-2026-0001"]
    assert case.referral.child_name == "Sam Sample" and case.stage == 1
    assert [i.recipient for i in queued(db, "acknowledgement")] == ["priya@school.example"]
    assert [i.recipient for i in queued(db, "new_case")] == [BM]
    assert queued(db, "stage_notice")


def test_the_same_message_delivered_twice_is_handled_once(world):
    services, context, db, _ = world
    deliver(services, context, REFERRAL, "1")
    again = deliver(services, context, REFERRAL, "1")
    assert again.status == "replay"
    assert len(db.cases) == 1 and len(queued(db, "acknowledgement")) == 1


def test_an_incomplete_referral_gets_a_reply_naming_what_is_missing_and_is_kept(world):
    services, context, db, composer = world
    text = REFERRAL.replace("Summary of disagreement: The threshold for assessment is met\n"
                            "but the front door closed the contact.\n", "")
    deliver(services, context, text, "1")
    assert not db.cases
    [item] = queued(db, "please_correct")
    assert item.recipient == "priya@school.example"
    notice = composer.composed[-1][0]
    assert any("summary" in problem.lower() for problem in notice.context["problems"])
    assert [r.status for r in db.inbound.values()] == ["processed"]


def test_a_failure_while_acting_quarantines_the_message_and_tells_the_managers(world):
    services, context, db, composer = world
    original = composer.compose

    def explode(notice, **kwargs):
        if notice.template == "acknowledgement":
            raise RuntimeError("template broke")
        return original(notice, **kwargs)

    composer.compose = explode
    handled = deliver(services, context, REFERRAL, "1")
    assert handled.status == "quarantined"
    assert not db.cases, "a half-done case must not be committed"
    assert [r.status for r in db.inbound.values()] == ["quarantined"]
    assert [i.recipient for i in queued(db, "quarantine_alert")] == [BM]
    [(alert, manager)] = [(n, p) for n, p in composer.composed if n.template == "quarantine_alert"]
    email = composer.renderer.render(alert, case=None, policy=context.policy,
                                     partnership_name="Bury", recipient=manager)
    assert "Why\nRuntimeError: template broke" in email.text, "the managers are told why"


@pytest.mark.parametrize("passing", [
    TransientError("database unavailable or busy: database is locked"),
    RuntimeError("(sqlite3.OperationalError) database is locked"),
])
def test_a_passing_database_error_leaves_the_referral_pending_and_the_next_pass_opens_it(world, passing):
    """Issue 14: one "database is locked" while acting on a referral quarantined it for good."""
    services, context, db, composer = world
    original, failures = composer.compose, [passing]

    def busy_once(notice, **kwargs):
        if failures:
            raise failures.pop()
        return original(notice, **kwargs)

    composer.compose = busy_once
    raw = RawMessage("bury", 1, "1", REFERRAL.replace("\n", "\r\n").encode())
    store_messages(services, [raw])
    with pytest.raises(TransientError):  # the pass stops, so its caller backs off
        act_on_pending(services, context, lambda: MONDAY)
    assert [r.status for r in db.inbound.values()] == ["received"]
    assert not db.cases and not queued(db, "quarantine_alert")
    assert act_on_pending(services, context, lambda: MONDAY) == 1  # the next pass
    assert list(db.cases) == ["BSCP-2026-0001"]
    assert [r.status for r in db.inbound.values()] == ["processed"]
    assert len(queued(db, "acknowledgement")) == 1 and not queued(db, "quarantine_alert")


def test_a_business_manager_escalates_by_reply_and_gets_a_confirmation(world):
    services, context, db, _ = world
    deliver(services, context, REFERRAL, "1")
    deliver(services, context, reply(db, "ESCALATE: no agreement reached"), "2")
    case = db.cases["BSCP-2026-0001"]
    assert case.stage == 2
    assert [i.recipient for i in queued(db, "command_confirmation")] == [BM]


def test_a_business_manager_brings_a_deadline_forward_by_reply(world):
    services, context, db, _ = world
    deliver(services, context, REFERRAL, "1")                  # Level 1: due 7 December
    deliver(services, context, reply(db, "SHORTEN 3: the child cannot wait"), "2")
    case = db.cases["BSCP-2026-0001"]
    assert case.deadline == datetime(2026, 12, 2, 17, 0, tzinfo=LONDON)
    assert [i.recipient for i in queued(db, "command_confirmation")] == [BM]
    assert "brought forward by 3 working days" in case.history[-1].text


def test_a_command_from_someone_who_is_not_a_business_manager_changes_nothing(world):
    services, context, db, _ = world
    deliver(services, context, REFERRAL, "1")
    text = reply(db, "ESCALATE", sender="priya@school.example", to_template="acknowledgement")
    deliver(services, context, text, "2")
    assert db.cases["BSCP-2026-0001"].stage == 1
    assert [i.recipient for i in queued(db, "command_refusal")] == ["priya@school.example"]
    assert db.cases["BSCP-2026-0001"].history[-1].kind.value == "CommandRefused"


def test_a_command_that_does_not_reply_to_our_mail_is_refused(world):
    services, context, db, _ = world
    deliver(services, context, REFERRAL, "1")
    forged = (f"From: {BM}\nTo: bsp@bury.example\nSubject: [BSCP-2026-0001]\n"
              "Message-ID: <forged@x>\n\nSTAGE 4\n")
    deliver(services, context, forged, "2")
    assert db.cases["BSCP-2026-0001"].stage == 1
    assert queued(db, "command_refusal")


def test_an_out_of_office_reply_is_filed_nowhere_and_answered_never(world):
    services, context, db, _ = world
    deliver(services, context, REFERRAL, "1")
    before = len(db.outbox)
    ooo = reply(db, "I am out of the office until Monday.").replace(
        "Subject:", "Auto-Submitted: auto-replied\nSubject:")
    handled = deliver(services, context, ooo, "2")
    assert handled.status == "ignored" and len(db.outbox) == before


def test_a_plain_reply_is_filed_on_the_case_as_correspondence(world):
    services, context, db, _ = world
    deliver(services, context, REFERRAL, "1")
    deliver(services, context, reply(db, "Thanks, we will meet on Thursday."), "2")
    assert db.cases["BSCP-2026-0001"].history[-1].kind.value == "CorrespondenceFiled"


def test_the_deadline_pass_chases_once_per_point(world):
    services, context, db, _ = world
    deliver(services, context, REFERRAL, "1")
    case = db.cases["BSCP-2026-0001"]
    due_day = case.deadline.replace(hour=9, minute=30)
    assert run_deadline_pass(services, due_day) > 0
    assert run_deadline_pass(services, due_day) == 0
    assert queued(db, "due_today")


class FlakyMailer:
    def __init__(self, *errors):
        self.errors, self.sent = list(errors), []

    def send(self, email):
        if self.errors:
            raise self.errors.pop(0)
        self.sent.append(email)


def test_sending_retries_transient_failures_and_marks_permanent_ones(world):
    services, context, db, _ = world
    deliver(services, context, REFERRAL, "1")
    total = len(db.outbox)
    mailer = FlakyMailer(TransientError("451 try later"), PermanentError("550 no such user"))
    first = send_queued(services, mailer, MONDAY)
    assert first == total - 2
    # The retried row is due once its back-off has passed (the fake honours ``now`` now).
    later = MONDAY + BACKOFF_BASE
    assert send_queued(services, mailer, later) == 2, "the retried row and the failure alert"
    statuses = [r.status for r in db.outbox.values() if r.item.template != "bounce_alert"]
    assert statuses.count("failed") == 1 and statuses.count("sent") == total - 1
    assert [i.recipient for i in queued(db, "bounce_alert")] == [BM], "the failure is reported"


class LoginRefusingMailer:
    """Refuses the login of one sender, delivers for every other."""

    def __init__(self, refused_sender: str):
        self.refused_sender, self.sent = refused_sender, []

    def send(self, email):
        if email.envelope_from == self.refused_sender:
            raise AuthenticationFailed("SMTP login refused", "Renew the password.")
        self.sent.append(email)


def test_a_refused_login_holds_that_senders_mail_without_failing_it(world):
    services, context, db, _ = world
    deliver(services, context, REFERRAL, "1")
    mailer = LoginRefusingMailer("bsp@bury.example")
    assert send_queued(services, mailer, MONDAY) == 0
    rows = list(db.outbox.values())
    assert {(r.status, r.attempts) for r in rows} == {("queued", 0)}
    assert all("Renew the password" in r.last_error for r in rows)
    assert not queued(db, "bounce_alert"), "nothing is undeliverable; the login is ours to fix"
    assert services.counters["held_by_refused_login"] == len(rows)
    assert send_queued(services, FlakyMailer(), MONDAY + AUTHENTICATION_RETRY) == len(rows)


class ListMailbox:
    """A mailbox in memory, for the polling use case's own order of steps."""

    name = "bury"

    def __init__(self, *texts: str):
        self.waiting = [RawMessage("bury", 1, str(n), text.replace("\n", "\r\n").encode())
                        for n, text in enumerate(texts)]
        self.mark_calls: list[int] = []

    def fetch_new(self, limit=200):
        return self.waiting[:limit]

    def mark_processed(self, message):
        self.mark_all_processed([message])

    def mark_all_processed(self, messages):
        self.mark_calls.append(len(messages))
        self.waiting = [m for m in self.waiting if m not in messages]

    def wait_for_new(self, timeout):
        return bool(self.waiting)

    def interrupt(self):
        pass

    def close(self):
        pass


def test_a_pass_stores_a_batch_lets_go_of_it_in_one_call_then_acts_on_it(world):
    services, context, db, _ = world
    mailbox = ListMailbox(REFERRAL, REFERRAL.replace("<ref-1@", "<ref-2@"))
    assert drain_mailbox(services, context, mailbox, lambda: MONDAY) == 2
    assert mailbox.mark_calls == [2] and mailbox.waiting == []
    assert len(db.cases) == 2
    assert {r.status for r in db.inbound.values()} == {"processed"}


def test_messages_stored_by_a_pass_that_died_are_acted_on_by_the_next(world):
    services, context, db, _ = world
    mailbox = ListMailbox(REFERRAL)
    batch = mailbox.fetch_new()
    assert store_messages(services, batch) == 1
    mailbox.mark_all_processed(batch)  # and then the worker died before acting on it
    assert not db.cases and mailbox.waiting == []
    assert drain_mailbox(services, context, mailbox, lambda: MONDAY) == 1
    assert list(db.cases) == ["BSCP-2026-0001"]
    assert store_messages(services, batch) == 0, "a replay is recognised"


def test_a_referral_whose_date_of_birth_has_a_two_digit_year_opens_a_case_with_a_past_birthday(world):
    services, context, db, _ = world
    written = REFERRAL.replace("Date of birth: 14/03/2015", "Date of birth: 01/02/69")
    handled = deliver(services, context, written, "1")
    assert db.cases[handled.case_reference].referral.child_dob == date(1969, 2, 1)


def test_a_message_whose_quarantine_alert_cannot_be_made_is_set_aside_all_the_same(world):
    """Never a message that blocks the ones behind it, pass after pass."""
    services, context, db, composer = world

    def broken(notice, **kwargs):
        raise RuntimeError("every template broke")

    composer.compose = broken
    store_messages(services, [RawMessage("bury", 1, "1", REFERRAL.replace("\n", "\r\n").encode())])
    assert act_on_pending(services, context, lambda: MONDAY) == 1
    [record] = db.inbound.values()
    assert record.status == "quarantined" and not db.cases


def test_a_job_failure_is_reported_once_and_its_recovery_once(world):
    from mailbot.services.health import report_job_health

    services, context, db, _ = world
    for _ in range(3):
        report_job_health(services, "deadline-pass", MONDAY, "database unavailable")
    assert [i.recipient for i in queued(db, "job_failure")] == [BM]
    for _ in range(2):
        report_job_health(services, "deadline-pass", MONDAY, "")
    assert [i.recipient for i in queued(db, "job_recovered")] == [BM]
