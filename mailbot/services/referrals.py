"""Use case: new mail that is not a reply, read as a Request for Resolution.

The form comes from a Word attachment or from ``Label: value`` lines in the body, of the
message itself or of a message forwarded inside it (message/rfc822). A readable, complete
form opens a case; anything else gets a reply naming exactly what to fix, with the
partnership's blank form attached. The raw message stays stored either way.

Automatic mail (a council web-form portal's no-reply message) is never answered, but a
referral in it is still acted on: a complete one opens a case acknowledged only to the
person the form names, a doubtful one goes to the business managers. An address on the form
that no mailer would take is left off the case with a warning, never the whole referral.
"""

from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import datetime

from mailbot.domain.errors import FormError
from mailbot.domain.notice_contexts import OpeningFacts
from mailbot.domain.notices import AUTO_REPLIED, Attachment, Notice, Template
from mailbot.domain.referral import Person, Referral
from mailbot.domain.service_notice_contexts import ForAttention, PleaseCorrect
from mailbot.intake.classify import answerable
from mailbot.intake.email_form import read_email_form
from mailbot.intake.form_validation import ValidationResult, validate
from mailbot.intake.headers import mailable
from mailbot.intake.message import Attachment as MimeAttachment
from mailbot.intake.message import InboundMessage
from mailbot.intake.reading import FormReading
from mailbot.services import outgoing
from mailbot.services.context import MailboxContext, Services
from mailbot.services.ports import FormReader, UnitOfWork

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
    reading, carrier, refusals = _read_form(services.read_form, message)
    if reading is None:
        _ask_for_correction(services, uow, mailbox, message, sender, [*refusals, NO_FORM], [], now)
        return None
    # A forwarded form is the original sender's referral: where the form leaves out the
    # referrer's address, theirs stands in, not the forwarder's.
    fallback = _sender(carrier).email
    result = _validate(mailbox, reading, fallback, now)
    if result.referral is None:
        _ask_for_correction(services, uow, mailbox, message, sender,
                            [*refusals, *result.problems], list(result.warnings), now)
        return None
    referral, dropped = _mailable_only(result.referral, fallback if mailable(fallback) else "")
    return _open_case(services, uow, mailbox, message, referral, [*result.warnings, *dropped],
                      sender.email, now)


def handle_automatic_mail(services: Services, uow: UnitOfWork, mailbox: MailboxContext,
                          message: InboundMessage, why: str, now: datetime) -> tuple[str | None, str]:
    """A Request for Resolution in automatic mail (a web-form portal's no-reply message, a
    bulk-marked one): never answered, but acted on. A complete referral with a person's address
    opens a case acknowledged to that address only; a doubtful one goes to the business
    managers. Returns (reference, note), or (None, "") when the message holds no referral."""
    reading, _, refusals = _read_form(services.read_form, message)
    if reading is None or not _about_a_child(reading):
        return None, ""
    # The sender never stands in for the referrer: an answer to it would be an answer to a
    # machine (and, between two machines, a loop).
    result = _validate(mailbox, reading, "", now)
    problems = [*refusals, *result.problems]
    referral, dropped = (None, []) if result.referral is None else _mailable_only(result.referral, "")
    if referral is not None and not answerable(referral.referrer_email):
        problems.append("The form gives no address of a person to acknowledge the referral to"
                        " (the sender's is an automatic one).")
    if problems or referral is None:
        _refer_to_business_managers(services, uow, mailbox, message, why, problems, now)
        return None, "automatic mail holding a doubtful referral: sent to the business managers"
    reference = _open_case(services, uow, mailbox, message, referral, [*result.warnings, *dropped],
                           referral.referrer_email, now)
    return reference, f"a referral in automatic mail ({why})"


def _validate(mailbox: MailboxContext, reading: FormReading, sender_email: str,
              now: datetime) -> ValidationResult:
    # A referral opening at a stage that asks for more (Hackney's actions to date and
    # rationale) must carry it.
    policy = mailbox.policy
    opening = policy.opening_stage(_stated_stage(reading))
    return validate(reading, required=policy.form.required, warned=policy.form.warned,
                    sender_email=sender_email, must_carry=opening.must_carry,
                    must_carry_why=opening.must_carry_why, today=now.date())


def _open_case(services: Services, uow: UnitOfWork, mailbox: MailboxContext,
               message: InboundMessage, referral: Referral, warnings: list[str],
               submitted_by: str, now: datetime) -> str:
    reference = uow.cases.next_reference(mailbox.policy.reference_prefix, now.year)
    case, notices = mailbox.engine.open_case(referral, reference, now, message.message_id,
                                             warnings=tuple(warnings), submitted_by=submitted_by)
    uow.cases.add(case)
    held = outgoing.unvouched(uow, mailbox, case, (p.email for p in case.everyone()))
    # A referrer reachable only by phone has no address to acknowledge to; the business
    # managers' new-case notice still goes.
    notices = [_with_held(replace(n, to=tuple(p for p in n.to if p.email)), held)
               for n in notices]
    notices = [n for n in notices if n.to]
    outgoing.queue_for(services, uow, mailbox, notices, case, now)
    return reference


def _mailable_only(referral: Referral, fallback: str) -> tuple[Referral, list[str]]:
    """The referral without the addresses no mailer would take (``tom..reid@...``), and a
    warning for each: one mistyped contact must not hold up the whole referral, and the
    business managers and the referrer are told so it can be put right (ASSIGN)."""
    warnings: list[str] = []

    def kept(address: str, label: str, instead: str = "") -> str:
        if not address or mailable(address):
            return address
        warnings.append(f"{label} '{address}' is not an address mail can be sent to, so it"
                        " was left off the case; please send the right one.")
        return instead

    referral = replace(
        referral,
        referrer_email=kept(referral.referrer_email, "Referrer's email", fallback),
        safeguarding_lead_email=kept(referral.safeguarding_lead_email, "Safeguarding lead's email"),
        other_agency_contact_email=kept(referral.other_agency_contact_email,
                                        "Other agency contact's email"))
    return referral, warnings


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "replace")).hexdigest()[:24]


def _about_a_child(reading: FormReading) -> bool:
    """A reading that is a referral's, not a signature or an auto-reply's stray "Name:" line."""
    found = set(reading.fields) | set(reading.errors)
    return bool(found & {"child_name", "summary"}) and len(found) >= 2


def _refer_to_business_managers(services: Services, uow: UnitOfWork, mailbox: MailboxContext,
                                message: InboundMessage, why: str, problems: list[str],
                                now: datetime) -> None:
    notice = Notice(Template.FOR_ATTENTION, mailbox.partnership.business_managers,
                    key=f"automatic-referral:{message.message_id or _digest(message.text_body)}",
                    context=ForAttention(
                        heading="A possible referral came in automatic mail",
                        sender=message.from_header or "(no sender)", verified=False,
                        text=message.text_body[:4000],
                        happened=[
                            f"It is automatic mail ({why}), so mailbot did not answer it.",
                            "No case was opened, because: " + " ".join(problems),
                            "The message is kept. To open the case, send the form on from"
                            " your own address, or ask the referrer to send it."]))
    outgoing.queue_for(services, uow, mailbox, [notice], None, now)


def _with_held(notice: Notice, held: frozenset[str]) -> Notice:
    """The business managers' new-case notice says whose mail waits for their ACCEPT."""
    if notice.template != Template.NEW_CASE or not held or not isinstance(notice.context, OpeningFacts):
        return notice
    return replace(notice, context=replace(notice.context, held_for=sorted(held)))


def _stated_stage(reading: FormReading) -> int | None:
    stage = reading.value("stage_reached")
    return stage if isinstance(stage, int) else None


def _read_form(read_form_attachment: FormReader,
               message: InboundMessage) -> tuple[FormReading | None, InboundMessage, list[str]]:
    """The form and the message that carried it: the first attachment that reads as a form
    (forwarded messages' included), else the body, else the body of a forwarded message;
    plus why attachments were refused."""
    refusals: list[str] = []
    tried = 0
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


def _attachments(message: InboundMessage) -> list[tuple[InboundMessage, MimeAttachment]]:
    return [(carrier, attachment) for carrier in _with_forwarded(message)
            for attachment in carrier.attachments]


def _sender(message: InboundMessage) -> Person:
    address = message.from_addresses[0] if message.from_addresses else None
    return Person(address.name if address else "", address.email if address else "")


def _ask_for_correction(services: Services, uow: UnitOfWork, mailbox: MailboxContext,
                        message: InboundMessage, sender: Person, problems: list[str],
                        warnings: list[str], now: datetime) -> None:
    if not sender.email or not mailable(sender.email):
        return  # nobody to answer; the message stays stored for the business managers
    notice = Notice(Template.PLEASE_CORRECT, (sender,), key=f"msg:{message.message_id}",
                    context=PleaseCorrect(problems=problems, warnings=warnings),
                    attachments=(Attachment.BLANK_FORM,), auto_submitted=AUTO_REPLIED,
                    in_reply_to=message.message_id or None)
    outgoing.queue_for(services, uow, mailbox, [notice], None, now)
