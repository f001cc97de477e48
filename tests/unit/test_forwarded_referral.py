"""A referral forwarded as an attached message (message/rfc822) is read end to end.

Someone forwards a referral that reached them first: a business manager from their own
inbox, a safeguarding lead for a colleague. The forwarder is only passing it on, so the case
is the original referrer's: it opens as if they had sent it, from a Word form or from
``Label: value`` lines inside the forwarded message, and the acknowledgement goes to the
referrer the form names, never to the forwarder. Where a policy lets the sender's address
stand in for the referrer's, it is the original sender's, not the forwarder's; where the
form cannot be used, the forwarder (who sent it to us) is asked to correct it. The forwarder
hears of the case only if they are a business manager, who are told of every new case.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from email.message import EmailMessage

import pytest

from mailbot.adapters.policy_files import calendar_for, load_policy
from mailbot.domain.engine import CaseEngine
from mailbot.domain.notices import Partnership
from mailbot.domain.referral import Person
from mailbot.intake.form_builder import fill_form
from mailbot.services.context import MailboxContext, Services
from mailbot.services.ports import RawMessage
from tests.unit.bury_mailbox import BM, MONDAY
from tests.unit.delivery import deliver_raw
from tests.unit.fakes import FakeDatabase, FakeUnitOfWork, RecordingComposer

REFERRER = "priya@school.example"
ORIGINAL_SENDER = "priya.shah@school.example"  # her own mail client's address
COLLEAGUE = "dsl@school.example"
DOCX = ("application", "vnd.openxmlformats-officedocument.wordprocessingml.document")
FIELDS = {"child_name": "Sam Sample", "child_dob": date(2015, 3, 14),
          "referrer_name": "Priya Shah", "referrer_email": REFERRER,
          "referrer_agency": "Hollins Primary School",
          "summary": "The threshold for assessment is met but the front door closed the contact.",
          # What Bury's Level 4 referral (Appendix 1) carries; with no level stated it opens there.
          "earlier_stages_evidence": "Level 1 and 2 discussions; no agreement.",
          "desired_outcome": "An assessment."}
LABELS = {"child_name": "Child's name", "child_dob": "Date of birth",
          "referrer_name": "Referrer's name", "referrer_email": "Referrer's email",
          "referrer_agency": "Agency/Team", "summary": "Summary of disagreement",
          "earlier_stages_evidence": "Evidence of earlier stages",
          "desired_outcome": "Desired outcome"}


def make_world(policy):
    partnership = Partnership("bsp@bury.example", (Person("Manager", BM),))
    engine = CaseEngine(policy, calendar_for(policy), partnership)
    context = MailboxContext("bury", "bsp@bury.example", policy, engine, sender_trust="none")
    db = FakeDatabase()
    services = Services(lambda: FakeUnitOfWork(db), RecordingComposer(), {"bury": context})
    return services, context, db


@pytest.fixture
def world():
    return make_world(load_policy("bury"))


def original(fields: dict, *, as_docx: bool) -> EmailMessage:
    """The referral as the referrer first sent it."""
    message = EmailMessage()
    message["From"] = f"Priya Shah <{ORIGINAL_SENDER}>"
    message["To"] = "Lena Manager <lena@school.example>"
    message["Subject"] = "Request for resolution"
    message["Message-ID"] = "<original-1@school.example>"
    if as_docx:
        message.set_content("Please find my Request for Resolution attached.\n")
        message.add_attachment(fill_form("bury", fields), *DOCX, filename="request.docx")
    else:
        message.set_content("".join(f"{LABELS[k]}: {v:%d/%m/%Y}\n" if isinstance(v, date)
                                    else f"{LABELS[k]}: {v}\n" for k, v in fields.items()))
    return message


def forwarded(inner: EmailMessage, forwarder: str) -> bytes:
    """``inner`` forwarded "as attachment", the way Outlook and Thunderbird can."""
    message = EmailMessage()
    message["From"] = forwarder
    message["To"] = "bsp@bury.example"
    message["Subject"] = "Fwd: Request for resolution"
    message["Message-ID"] = "<forward-1@school.example>"
    message.set_content("Forwarding this referral, which came to me first.\n")
    message.add_attachment(inner)  # a message/rfc822 part
    return bytes(message)


def deliver(world, data: bytes):
    services, context, db = world
    handled = deliver_raw(services, context, RawMessage("bury", 1, "1", data), MONDAY)
    queued = [r.item for r in db.outbox.values()]
    return handled, queued


def recipients(queued, template: str) -> list[str]:
    return [item.recipient for item in queued if item.template == template]


def test_the_bytes_really_carry_the_form_inside_a_message_rfc822_part():
    data = forwarded(original(FIELDS, as_docx=True), COLLEAGUE)
    assert b"Content-Type: message/rfc822" in data


def test_a_form_forwarded_inside_an_attached_message_opens_the_referrers_case(world):
    handled, queued = deliver(world, forwarded(original(FIELDS, as_docx=True), BM))
    assert handled.status == "processed" and handled.case_reference == "BSCP-2026-0001"
    case = world[2].cases["BSCP-2026-0001"]
    assert (case.referral.child_name, case.referral.referrer_email) == ("Sam Sample", REFERRER)
    assert case.referral.child_dob == date(2015, 3, 14)
    assert recipients(queued, "acknowledgement") == [REFERRER]
    assert recipients(queued, "new_case") == [BM]
    assert not recipients(queued, "please_correct")


def test_labelled_lines_in_the_forwarded_message_are_read_as_the_form(world):
    handled, queued = deliver(world, forwarded(original(FIELDS, as_docx=False), COLLEAGUE))
    assert handled.case_reference == "BSCP-2026-0001"
    case = world[2].cases["BSCP-2026-0001"]
    assert case.referral.summary.startswith("The threshold for assessment is met")
    assert recipients(queued, "acknowledgement") == [REFERRER]
    assert COLLEAGUE not in {item.recipient for item in queued}


def test_a_forwarded_form_without_the_referrers_address_takes_the_original_senders(world):
    # The shipped policies require the referrer's email; the original sender's stands in.
    fields = {k: v for k, v in FIELDS.items() if k != "referrer_email"}
    handled, queued = deliver(world, forwarded(original(fields, as_docx=True), COLLEAGUE))
    assert handled.case_reference == "BSCP-2026-0001"
    assert world[2].cases["BSCP-2026-0001"].referral.referrer_email == ORIGINAL_SENDER
    assert recipients(queued, "acknowledgement") == [ORIGINAL_SENDER]


@pytest.mark.parametrize("as_docx", [True, False], ids=["docx", "labelled lines"])
def test_where_the_sender_may_stand_in_for_the_address_it_is_the_original_sender_not_the_forwarder(
        as_docx):
    bury = load_policy("bury")
    required = tuple("referrer_contact" if k == "referrer_email" else k
                     for k in bury.form.required)
    world = make_world(replace(bury, form=replace(bury.form, required=required)))
    fields = {k: v for k, v in FIELDS.items() if k != "referrer_email"}
    handled, queued = deliver(world, forwarded(original(fields, as_docx=as_docx), COLLEAGUE))
    assert handled.case_reference == "BSCP-2026-0001"
    assert world[2].cases["BSCP-2026-0001"].referral.referrer_email == ORIGINAL_SENDER
    assert recipients(queued, "acknowledgement") == [ORIGINAL_SENDER]
    assert COLLEAGUE not in {item.recipient for item in queued}


def test_a_forward_without_a_form_asks_the_forwarder_to_send_one(world):
    inner = EmailMessage()
    inner["From"] = f"Priya Shah <{ORIGINAL_SENDER}>"
    inner["Subject"] = "Can we talk about Sam?"
    inner.set_content("I disagree with the decision; can we talk?\n")
    handled, queued = deliver(world, forwarded(inner, COLLEAGUE))
    assert handled.case_reference is None
    assert recipients(queued, "please_correct") == [COLLEAGUE]
