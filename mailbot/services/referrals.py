"""Use case: new mail that is not a reply, read as a Request for Resolution.

The form comes from a Word attachment or from ``Label: value`` lines in the body, of the
message itself or of a message forwarded inside it (message/rfc822). A readable, complete
form opens a case; anything else gets a reply naming exactly what to fix, with the
partnership's blank form attached. The raw message stays stored either way.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from mailbot.domain.errors import FormError
from mailbot.domain.notices import AUTO_REPLIED, Attachment, Notice, Template
from mailbot.domain.referral import Person
from mailbot.intake.email_form import read_email_form
from mailbot.intake.form_validation import validate
from mailbot.intake.forms import read_form_attachment
from mailbot.intake.message import InboundMessage
from mailbot.services import outgoing
from mailbot.services.context import MailboxContext, Services
from mailbot.services.unit_of_work import UnitOfWork

# Word documents read from one message at most: ten 1.9 MB documents in one email once held
# intake for 161 s (issue 14). The rest are named in the reply, not read.
MAX_DOCUMENTS_TRIED = 3
NO_FORM = ("We could not find a Request for Resolution in your message. Please attach the"
           " completed form (a Word .docx file; a blank one is attached), or write the form's"
           " fields in the body of your email as 'Label: value' lines.")


def handle_new_mail(services: Services, uow: UnitOfWork, mailbox: MailboxContext,
                    message: InboundMessage, now: datetime) -> str | None:
    """Opens a case and returns its reference, or asks the sender to correct the form."""
    sender = _sender(message)
    reading, carrier, refusals = _read_form(message)
    policy = mailbox.policy
    if reading is None:
        _ask_for_correction(services, uow, mailbox, message, sender, [*refusals, NO_FORM], [], now)
        return None
    # A forwarded form is the original sender's referral: where the form leaves out the
    # referrer's address, theirs stands in, not the forwarder's. A referral opening at a stage
    # that asks for more (Hackney's actions to date and rationale) must carry it.
    opening = policy.opening_stage(_stated_stage(reading))
    result = validate(reading, required=policy.form.required, warned=policy.form.warned,
                      sender_email=_sender(carrier).email, must_carry=opening.must_carry,
                      must_carry_why=opening.must_carry_why)
    if result.referral is None:
        _ask_for_correction(services, uow, mailbox, message, sender,
                            [*refusals, *result.problems], list(result.warnings), now)
        return None
    reference = uow.cases.next_reference(policy.reference_prefix, now.year)
    case, notices = mailbox.engine.open_case(result.referral, reference, now, message.message_id,
                                             warnings=tuple(result.warnings),
                                             submitted_by=sender.email)
    uow.cases.add(case)
    held = outgoing.unvouched(uow, mailbox, case, (p.email for p in case.everyone()))
    notices = [_with_held(n, held) for n in notices]
    outgoing.queue_for(services, uow, mailbox, notices, case, now)
    return reference


def _with_held(notice: Notice, held: frozenset[str]) -> Notice:
    """The business managers' new-case notice says whose mail waits for their ACCEPT."""
    if notice.template != Template.NEW_CASE or not held:
        return notice
    return replace(notice, context={**notice.context, "held_for": sorted(held)})


def _stated_stage(reading) -> int | None:
    stage = reading.value("stage_reached")
    return stage if isinstance(stage, int) else None


def _read_form(message: InboundMessage):
    """The form and the message that carried it: the first attachment that reads as a form
    (forwarded messages' included), else the body, else the body of a forwarded message;
    plus why attachments were refused."""
    refusals, tried = [], 0
    for carrier, attachment in _attachments(message):
        if attachment.data.startswith(b"PK"):  # a zip package: the only kind read at length
            tried += 1
            if tried > MAX_DOCUMENTS_TRIED:
                refusals.append(f"{attachment.filename or 'an attachment'}: not read, because"
                                f" mailbot reads at most {MAX_DOCUMENTS_TRIED} documents from one"
                                " email. Please send the form on its own.")
                continue
        try:
            reading = read_form_attachment(attachment.data)
        except FormError as error:
            name = attachment.filename or "an attachment"
            refusals.append(f"{name}: {error.reply_text}")
            continue
        if reading.fields:
            return reading, carrier, refusals
    for carrier in _with_forwarded(message):
        reading = read_email_form(carrier.text_body, carrier.html_body)
        if reading.fields:
            return reading, carrier, refusals
    return None, message, refusals


def _with_forwarded(message: InboundMessage) -> list[InboundMessage]:
    """The message, then every message forwarded inside it, depth first."""
    return [message, *(inner for forwarded in message.forwarded
                       for inner in _with_forwarded(forwarded))]


def _attachments(message: InboundMessage):
    return [(carrier, attachment) for carrier in _with_forwarded(message)
            for attachment in carrier.attachments]


def _sender(message: InboundMessage) -> Person:
    address = message.from_addresses[0] if message.from_addresses else None
    return Person(address.name if address else "", address.email if address else "")


def _ask_for_correction(services: Services, uow: UnitOfWork, mailbox: MailboxContext,
                        message: InboundMessage, sender: Person, problems: list[str],
                        warnings: list[str], now: datetime) -> None:
    if not sender.email:
        return  # nobody to answer; the message stays stored for the business managers
    notice = Notice(Template.PLEASE_CORRECT, (sender,), key=f"msg:{message.message_id}",
                    context={"problems": problems, "warnings": warnings,
                             "original_subject": message.subject or ""},
                    attachments=(Attachment.BLANK_FORM,), auto_submitted=AUTO_REPLIED,
                    in_reply_to=message.message_id or None)
    outgoing.queue_for(services, uow, mailbox, [notice], None, now)
