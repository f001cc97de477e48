"""Use case: a reply about a case, carrying commands or plain correspondence.

A state-changing command is taken only when every check of issue 6 holds: the sender is
one of the mailbox's business managers, the message replies to a Message-ID we issued to
that same address, its From header holds exactly one clean address, and the mailbox's
``sender_trust`` passes. Anything else is filed and answered with a refusal that says why,
because a forged From line must never move a child's case.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import datetime

from mailbot.domain import commands as cmd
from mailbot.domain.case import Case, Event, EventKind
from mailbot.domain.engine import CaseEngine
from mailbot.domain.errors import CaseRuleRefused
from mailbot.domain.notices import AUTO_REPLIED, Notice, Template
from mailbot.domain.referral import Person
from mailbot.intake.message import InboundMessage
from mailbot.intake.reply_text import own_text
from mailbot.intake.sender_trust import check_sender_trust
from mailbot.services.context import MailboxContext, Services
from mailbot.services.messaging import queue_notices
from mailbot.services.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)


def handle_reply(services: Services, uow: UnitOfWork, mailbox: MailboxContext, case: Case,
                 message: InboundMessage, now: datetime) -> None:
    parsed = cmd.parse_reply(own_text(message))
    actor = message.from_addresses[0].email if message.from_addresses else "unknown sender"
    source = message.message_id or None
    if not parsed.commands and not parsed.problems:
        mailbox.engine.file_correspondence(case, _summary(message), now, actor, source)
        uow.cases.save(case)
        return
    untrusted = _why_untrusted(uow, mailbox, message)
    done, refused, notices = [], [], []
    for command in parsed.commands:
        if untrusted and isinstance(command, cmd.STATE_CHANGING):
            refused.append((cmd.describe(command), untrusted))
            continue
        try:
            notices += _apply(mailbox.engine, case, command, now, actor, source)
            done.append(cmd.describe(command))
        except CaseRuleRefused as refusal:
            refused.append((cmd.describe(command), refusal.reason))
    refused += [(problem, "The line could not be read as a command.") for problem in parsed.problems]
    for text, reason in refused:
        case.record(Event(now, EventKind.COMMAND_REFUSED, actor, f"{text}\nRefused: {reason}",
                          case.stage, source))
    notices += _answers(case, message, done, refused)
    uow.cases.save(case)
    queue_notices(uow, services.composer, notices, case=case, policy=mailbox.policy,
                  sender=Person(mailbox.policy.name, mailbox.address), now=now,
                  replies_per_hour=services.replies_per_recipient_per_hour)
    log.info("reply %s on case %s: %d command(s) done, %d refused", source or "-",
             case.reference, len(done), len(refused))


def _apply(engine: CaseEngine, case: Case, command: cmd.Command, now: datetime, actor: str,
           source: str | None) -> list[Notice]:
    match command:
        case cmd.Escalate(reason):
            return engine.escalate(case, now, actor, reason, source)
        case cmd.MoveToStage(stage, reason):
            return engine.move_to_stage(case, stage, now, actor, reason, source)
        case cmd.RecordOutcome(outcome):
            return engine.record_outcome(case, outcome, now, actor, source)
        case cmd.RecordDecision(decision):
            return engine.record_decision(case, decision, now, actor, source)
        case cmd.ExtendDeadline(days, reason):
            return engine.extend(case, days, now, actor, reason, source)
        case cmd.ShortenDeadline(days, reason):
            return engine.shorten(case, days, now, actor, reason, source)
        case cmd.AssignRole(role, person):
            return engine.assign(case, role, person, now, actor, source)
        case cmd.AddNote(text):
            return engine.add_note(case, text, now, actor, source)
        case cmd.Withdraw(reason):
            return engine.withdraw(case, reason, now, actor, source)
    raise TypeError(command)


def _why_untrusted(uow: UnitOfWork, mailbox: MailboxContext, message: InboundMessage) -> str:
    """Empty when the sender may change the case; otherwise the reason, for a person."""
    if message.from_header_defects or len(message.from_addresses) != 1:
        return "The From line of your message does not hold exactly one clean address."
    sender = message.from_addresses[0].email.lower()
    if sender not in mailbox.business_manager_addresses:
        return (f"Only the business managers of {mailbox.policy.name} can change a case by"
                " email; your message has been filed on the case as correspondence.")
    ours = uow.outbox.lookup([*message.in_reply_to, *message.references])
    if not any(sent.recipient.lower() == sender for sent in ours):
        return ("Commands are taken only in a reply to a message mailbot sent to you;"
                " please reply to one of the case emails you received.")
    verdict = check_sender_trust(message, mailbox.sender_trust,
                                 trusted_authserv_ids=mailbox.trusted_authserv_ids)
    return "" if verdict.passed else f"Your message could not be verified as yours: {verdict.reason}"


def _answers(case: Case, message: InboundMessage, done: list[str],
             refused: list[tuple[str, str]]) -> list[Notice]:
    sender = message.from_addresses[0] if message.from_addresses else None
    if sender is None:
        return []
    to = (Person(sender.name, sender.email),)
    key = "reply:" + hashlib.sha256((message.message_id or "").encode()).hexdigest()[:16]
    notices = []
    if done:
        notices.append(Notice(Template.COMMAND_CONFIRMATION, to, case.stage, key=key,
                              context={"commands": done}, auto_submitted=AUTO_REPLIED,
                              in_reply_to=message.message_id or None))
    if refused:
        notices.append(Notice(Template.COMMAND_REFUSAL, to, case.stage, key=key,
                              context={"commands": [c for c, _ in refused],
                                       "reasons": [r for _, r in refused]},
                              auto_submitted=AUTO_REPLIED, in_reply_to=message.message_id or None))
    return notices


def _summary(message: InboundMessage) -> str:
    sender = ", ".join(a.email for a in message.from_addresses) or "unknown sender"
    return f"Correspondence from {sender}: {message.subject or '(no subject)'}"
