"""What one stored message leads to, inside the transaction that acts on it.

``intake`` claims a stored message, parses it and calls ``act_on`` in a savepoint;
``quarantine`` calls it again when a quarantined message is released. The classifier's
verdict and the case the message matches choose the handler: a reply to a case
(``replies``), a new referral (``referrals``), a bounce (``bounces``), automatic mail, or a
reply about another partnership's case. The answer is a ``Handled``: the status, case and note
the inbound log records for the message.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from mailbot.intake.classify import Classification, classify, may_carry_referral
from mailbot.intake.message import InboundMessage
from mailbot.services import outgoing, referrals, replies, reply_answers
from mailbot.services.bounces import record_bounce
from mailbot.services.case_matching import match_case
from mailbot.services.context import MailboxContext, Services
from mailbot.services.ports import UnitOfWork
from mailbot.services.stored import InboundStatus

PROCESSED, IGNORED = InboundStatus.PROCESSED, InboundStatus.IGNORED


@dataclass(frozen=True)
class Handled:
    status: InboundStatus
    case_reference: str | None = None
    note: str = ""


def act_on(services: Services, uow: UnitOfWork, mailbox: MailboxContext,
           message: InboundMessage, now: datetime) -> Handled:
    """Acts on one message in ``uow``; the caller marks it in the inbound log and commits."""
    verdict = classify(message, own_addresses=services.own_addresses,
                       own_message_id_domain=mailbox.address.rsplit("@", 1)[-1])
    if verdict.kind == "automatic":
        return _automatic(services, uow, mailbox, message, verdict, now)
    if verdict.kind == "own":
        return Handled(IGNORED, note=f"{verdict.kind}: {verdict.reason}")
    if verdict.kind == "bounce":
        reference = record_bounce(services, uow, mailbox, message, verdict.bounced_message_ids,
                                  now)
        if reference is None:
            return Handled(IGNORED, note="bounce of mail we cannot match to a case")
        return Handled(PROCESSED, reference, "bounce of our mail")
    match = match_case(uow, mailbox, message)
    if match.case is not None:
        replies.handle_reply(services, uow, mailbox, match, message, now)
        return Handled(PROCESSED, match.case.reference)
    if match.problem:
        outgoing.queue_for(services, uow, mailbox, reply_answers.misdirected_answer(
            mailbox, message, match.problem), None, now)
        return Handled(PROCESSED, note="reply refused: " + match.problem[:200])
    if match.foreign:
        return _misdirected(services, uow, mailbox, match.foreign, message, now)
    reference = referrals.handle_new_mail(services, uow, mailbox, message, now)
    return Handled(PROCESSED, reference, "" if reference else "asked the sender to correct it")


def _automatic(services: Services, uow: UnitOfWork, mailbox: MailboxContext,
               message: InboundMessage, verdict: Classification, now: datetime) -> Handled:
    """Automatic mail is never answered, but a referral in it is acted on. Automatic mail in
    a case thread is an auto-reply to our own mail, whatever it quotes."""
    ignored = Handled(IGNORED, note=f"automatic: {verdict.reason}")
    if verdict.referenced_ids or verdict.subject_reference or not may_carry_referral(message):
        return ignored
    reference, note = referrals.handle_automatic_mail(services, uow, mailbox, message,
                                                      verdict.reason, now)
    return Handled(PROCESSED, reference, note) if note else ignored


def _misdirected(services: Services, uow: UnitOfWork, mailbox: MailboxContext, reference: str,
                 message: InboundMessage, now: datetime) -> Handled:
    """A reply about another partnership's case: acted on by nobody here, answered with
    nothing about the case, and reported to the business managers who own the case."""
    case = uow.cases.get(reference)
    reason = (f"This mailbox ({mailbox.address}) acts only on {mailbox.policy.name}'s own cases,"
              " and your message is about a case of another partnership. Nothing has changed;"
              " please reply to the email you received about that case.")
    outgoing.queue_for(services, uow, mailbox,
                       reply_answers.misdirected_answer(mailbox, message, reason), None, now)
    owner = _owner(services, case.policy_key) if case is not None else None
    if case is not None and owner is not None:
        alert = reply_answers.misdirected_alert(owner, case, mailbox, message)
        outgoing.queue_for(services, uow, owner, [alert], case, now)
    return Handled(PROCESSED, note=f"reply about another partnership's case {reference} refused")


def _owner(services: Services, policy_key: str) -> MailboxContext | None:
    try:
        return services.for_policy(policy_key)
    except LookupError:
        return None
