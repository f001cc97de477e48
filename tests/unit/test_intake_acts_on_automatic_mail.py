"""Issue 14: automatic mail is never answered, but a referral in it is still acted on.

A council web-form portal sends from a no-reply address with Auto-Submitted, a mail system
may add Precedence: bulk, List-Unsubscribe or X-Loop, and a person may send a referral
with an "On leave" subject. Each is read as a Request for Resolution: a complete one opens
a case acknowledged only to the human address on the form; a doubtful one goes to the
business managers; a true auto-reply with no referral gets nothing. Real corpora check that
no auto-reply or bounce opens a case.
"""

from __future__ import annotations

import pytest
from mail_corpora import corpus

from mailbot.adapters.jinja_renderer import JinjaRenderer
from mailbot.adapters.mail_composer import MailComposer
from mailbot.intake.classify import classify
from mailbot.intake.message import parse_message
from mailbot.services.context import Services
from mailbot.services.ports import RawMessage
from tests.unit.bury_mailbox import BM, FORM, MONDAY, mailbox_context
from tests.unit.delivery import deliver_raw
from tests.unit.fakes import FakeDatabase, FakeUnitOfWork

PORTAL = "Bury Council Online Forms <no-reply@forms.bury.gov.uk>"


@pytest.fixture
def world():
    context = mailbox_context()
    db = FakeDatabase()
    services = Services(lambda: FakeUnitOfWork(db), MailComposer(JinjaRenderer()), {"bury": context})
    return services, context, db


def deliver(world, text: str, uid: str = "1"):
    services, context, _ = world
    raw = RawMessage("bury", 1, uid, text.replace("\n", "\r\n").encode())
    return deliver_raw(services, context, raw, MONDAY)


def message(headers: str, body: str = FORM, sender: str = PORTAL,
            subject: str = "Request for resolution") -> str:
    return (f"From: {sender}\nTo: bsp@bury.example\nSubject: {subject}\n"
            f"Message-ID: <form-1@forms.bury.gov.uk>\n{headers}\n{body}")


def recipients(db, template: str | None = None) -> list[str]:
    return sorted(r.item.recipient for r in db.outbox.values()
                  if template in (None, r.item.template))


AUTOMATIC = {
    "a no-reply portal": ("", PORTAL, "Request for resolution"),
    "Auto-Submitted": ("Auto-Submitted: auto-generated\n", "Forms <forms@bury.gov.uk>",
                       "Request for resolution"),
    "Precedence bulk": ("Precedence: bulk\n", "Priya Shah <priya@school.example>",
                        "Request for resolution"),
    "List-Unsubscribe": ("List-Unsubscribe: <mailto:unsubscribe@forms.example>\n",
                         "Forms <forms@forms.example>", "Request for resolution"),
    "X-Loop": ("X-Loop: forms@forms.example\n", "Forms <forms@forms.example>",
               "Request for resolution"),
    "an 'On leave' subject": ("", "Priya Shah <priya@school.example>",
                              "On leave from Friday: request for resolution"),
    "an 'OOO' subject": ("", "Priya Shah <priya@school.example>", "OOO next week - referral"),
}


@pytest.mark.parametrize("why", list(AUTOMATIC))
def test_a_complete_referral_in_automatic_mail_opens_a_case(world, why):
    headers, sender, subject = AUTOMATIC[why]
    handled = deliver(world, message(headers, sender=sender, subject=subject))
    _, _, db = world
    assert handled.case_reference == "BSCP-2026-0001", handled
    assert recipients(db, "acknowledgement") == ["priya@school.example"]
    assert recipients(db, "new_case") == [BM]


def test_the_no_reply_sender_of_a_portal_referral_is_never_written_to(world):
    deliver(world, message("Auto-Submitted: auto-generated\n"))
    _, _, db = world
    assert "no-reply@forms.bury.gov.uk" not in recipients(db)


def test_a_doubtful_referral_in_automatic_mail_goes_to_the_business_managers_only(world):
    incomplete = "Child's name: Sam Sample\nSummary of disagreement: The contact was closed.\n"
    handled = deliver(world, message("Auto-Submitted: auto-generated\n", body=incomplete))
    _, _, db = world
    assert handled.case_reference is None and handled.status == "processed"
    assert not db.cases
    assert recipients(db) == [BM]
    assert recipients(db, "for_attention") == [BM]


def test_a_referral_whose_only_address_is_the_portals_goes_to_the_business_managers(world):
    phone_only = FORM.replace("Referrer's email: priya@school.example", "Referrer's phone: 0161 555 0100")
    deliver(world, message("", body=phone_only))
    _, _, db = world
    assert not db.cases, "nobody could be acknowledged, so a person decides"
    assert recipients(db) == [BM]


def test_an_out_of_office_reply_without_a_referral_gets_nothing(world):
    ooo = message("Auto-Submitted: auto-replied\n", sender="Jo Bloggs <jo@school.example>",
                  subject="Automatic reply: referral", body="I am on leave until Monday.\n")
    handled = deliver(world, ooo)
    _, _, db = world
    assert handled.status == "ignored" and not db.outbox


def test_an_auto_reply_quoting_a_form_to_our_own_thread_opens_nothing(world):
    deliver(world, message("", sender="Priya Shah <priya@school.example>"))
    _, _, db = world
    ours = next(r.item.message_id for r in db.outbox.values() if r.item.template == "acknowledgement")
    before = len(db.outbox)
    ooo = (f"From: Priya Shah <priya@school.example>\nTo: bsp@bury.example\n"
           f"Subject: Automatic reply: [BSCP-2026-0001]\nAuto-Submitted: auto-replied\n"
           f"Message-ID: <ooo-1@school.example>\nIn-Reply-To: <{ours}>\n\n"
           f"I am away.\n\n> {FORM.replace(chr(10), chr(10) + '> ')}")
    handled = deliver(world, ooo, uid="2")
    assert handled.status == "ignored" and len(db.cases) == 1 and len(db.outbox) == before


def _automatic_corpus():
    """The corpus's messages the classifier calls automatic or bounces (a handful it calls
    new are a person's mail, and rightly answered)."""
    maildir = corpus("set-of-emails", "maildir")
    paths = sorted(maildir.glob("bsd/*.eml")) + sorted(maildir.glob("dos/*.eml"))
    return [path for path in paths if classify(
        parse_message(path.read_bytes()), own_addresses=frozenset({"bsp@bury.example"}),
        own_message_id_domain="bury.example").kind in ("automatic", "bounce")]


def test_no_bounce_or_auto_reply_in_the_real_corpus_opens_a_case_or_answers_anyone(world):
    services, context, db = world
    paths = _automatic_corpus()
    for number, path in enumerate(paths):
        deliver_raw(services, context, RawMessage("bury", 1, str(number), path.read_bytes()),
                        MONDAY)
    # Measured 2026-12-04: none of the 704 opens a case, answers anyone or troubles the
    # business managers (665 ignored, 39 byte-for-byte replays of the CRLF copies).
    assert len(paths) >= 700
    assert not db.cases
    assert not db.outbox, sorted({r.item.template for r in db.outbox.values()})
