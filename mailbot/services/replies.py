"""Use case: a reply about a case, carrying commands or plain correspondence.

Only what the sender wrote runs: the reply's own text, less anything mailbot wrote itself
(``reply_checks.written_by_sender``). A state-changing command is taken only from a business
manager, in a reply to mail this mailbox sent them, passing ``sender_trust``, in a message
not acted on before; anything else is refused with the reason, because a forged From line
must never move a child's case. Whatever a person writes reaches someone: a note or a
refused command from anyone but a business manager is passed to the business managers.
Every notice one reply causes is decided after all its commands have run, so nobody is
asked to act at a stage the same reply has already left.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from datetime import datetime

from mailbot.domain import commands as cmd
from mailbot.domain.case import Case, CaseStatus, Event, EventKind
from mailbot.domain.command_parser import ParsedReply, parse_reply
from mailbot.domain.engine import CaseEngine
from mailbot.domain.errors import CaseRuleRefused
from mailbot.domain.notices import Notice, Template
from mailbot.domain.referral import Person
from mailbot.intake.message import InboundMessage
from mailbot.intake.reply_text import own_text
from mailbot.services import outgoing, reply_answers
from mailbot.services.case_matching import CaseMatch
from mailbot.services.context import MailboxContext, Services
from mailbot.services.ports import UnitOfWork
from mailbot.services.reply_checks import (
    Standing,
    has_quoted_commands,
    is_out_of_office,
    replay_keys,
    standing,
    written_by_sender,
)

log = logging.getLogger(__name__)

# Notices that ask someone to act where the case stands; one reply's later command that moves
# or closes the case makes those its earlier commands caused out of date.
_ACTION_NEEDED = (Template.STAGE_NOTICE, Template.DEADLINE_EXTENDED)


@dataclass
class Applied:
    """What one reply's commands did."""

    done: list[str] = field(default_factory=list)
    refused: list[tuple[str, str]] = field(default_factory=list)
    notices: list[Notice] = field(default_factory=list)
    accepted: bool = False
    assigned: list[Person] = field(default_factory=list)


def handle_reply(services: Services, uow: UnitOfWork, mailbox: MailboxContext, match: CaseMatch,
                 message: InboundMessage, now: datetime) -> None:
    case = match.case
    assert case is not None
    who = standing(mailbox, case, match, message)
    text = written_by_sender(uow, message)
    parsed = ParsedReply() if is_out_of_office(text) else parse_reply(text)
    if not parsed.commands and not parsed.problems:
        _file(services, uow, mailbox, case, message, who, now)
        return
    source = message.message_id or None
    keys = replay_keys(message, who.address, text)
    if who.address and uow.commands.acted_on(mailbox.name, keys):
        _refuse_replay(services, uow, mailbox, case, message, who, parsed, now)
        return
    applied = _apply_all(mailbox, case, parsed, who, now, source)
    if applied.done:
        uow.commands.remember(mailbox.name, keys, case.reference, now)
    _record_refusals(case, applied.refused, who, now, source)
    uow.cases.save(case)
    outgoing.vouch(uow, mailbox, applied.assigned, now)
    if applied.accepted:
        outgoing.accept(uow, mailbox, case, now)
    notices = [*applied.notices,
               *reply_answers.for_managers(mailbox, case, who, text, applied.done, applied.refused)]
    if who.trust.forged:
        notices.append(reply_answers.forgery_alert(mailbox, case, message, who))
    outgoing.queue_for(services, uow, mailbox, notices, case, now)
    _answer(services, uow, mailbox, case, message, who, applied.done, applied.refused, now)
    log.info("reply %s on case %s: %d command(s) done, %d refused", source or "-",
             case.reference, len(applied.done), len(applied.refused))


def _apply_all(mailbox: MailboxContext, case: Case, parsed: ParsedReply, who: Standing,
               now: datetime, source: str | None) -> Applied:
    applied = Applied()
    not_manager = who.why_not_manager(mailbox.policy.name)
    actor = who.address or "unknown sender"
    for command in parsed.commands:
        if not_manager and isinstance(command, cmd.STATE_CHANGING):
            applied.refused.append((cmd.describe(command), not_manager))
            continue
        try:
            before = _where(case)
            notices = _apply(mailbox.engine, case, command, now, actor, source, who)
            if _where(case) != before:  # what earlier commands asked for is now out of date
                applied.notices = [n for n in applied.notices if n.template not in _ACTION_NEEDED]
            applied.notices += notices
            applied.done.append(cmd.describe(command))
            applied.accepted |= isinstance(command, cmd.Accept)
            if isinstance(command, cmd.AssignRole):
                applied.assigned.append(command.person)
        except CaseRuleRefused as refusal:
            applied.refused.append((cmd.describe(command), refusal.reason))
    applied.refused += [(problem, "The line could not be read as a command.")
                        for problem in parsed.problems]
    return applied


def _apply(engine: CaseEngine, case: Case, command: cmd.Command, now: datetime, actor: str,
           source: str | None, who: Standing) -> list[Notice]:
    if isinstance(command, cmd.AddNote):
        command = replace(command, text=_as_recorded(command.text, who))
    return cmd.apply(engine, case, command, now, actor, source)


def _as_recorded(text: str, who: Standing) -> str:
    """A note keeps who wrote it; one whose sender is not shown to be on the case says so."""
    return text if who.verified else f"[Unverified sender: not shown to be on this case]\n{text}"


def _answer(services: Services, uow: UnitOfWork, mailbox: MailboxContext, case: Case,
            message: InboundMessage, who: Standing, done: list[str],
            refused: list[tuple[str, str]], now: datetime) -> None:
    """The sender's confirmation and refusal; composed without the case unless the reply
    came in a thread mailbot started with this sender."""
    notices = reply_answers.answers(mailbox, case, message, who, done, refused)
    outgoing.queue_for(services, uow, mailbox, notices, case if who.threaded else None, now)


def _where(case: Case) -> tuple[int, int, CaseStatus]:
    """Where a case stands, as far as who must act by when is concerned."""
    return case.stage, case.phase, case.status


def _record_refusals(case: Case, refused: list[tuple[str, str]], who: Standing, now: datetime,
                     source: str | None) -> None:
    for text, reason in refused:
        case.record(Event(now, EventKind.COMMAND_REFUSED, who.address or "unknown sender",
                          f"{text}\nRefused: {reason}", case.stage, source))


def _file(services: Services, uow: UnitOfWork, mailbox: MailboxContext, case: Case,
          message: InboundMessage, who: Standing, now: datetime) -> None:
    """No command of the sender's own: filed as correspondence. A business manager whose
    reply held commands only in quoted text is told that nothing ran."""
    summary = reply_answers.correspondence_summary(message, who)
    mailbox.engine.file_correspondence(case, summary, now, who.address or "unknown sender",
                                       message.message_id or None)
    uow.cases.save(case)
    notices = []
    if who.business_manager and who.threaded and has_quoted_commands(message):
        notices.append(reply_answers.nothing_ran(case, message, who))
    elif who.address and not is_out_of_office(own_text(message)):
        notices += reply_answers.for_managers(mailbox, case, who, own_text(message), [], [])
    outgoing.queue_for(services, uow, mailbox, notices, case, now)


def _refuse_replay(services: Services, uow: UnitOfWork, mailbox: MailboxContext, case: Case,
                   message: InboundMessage, who: Standing, parsed: ParsedReply,
                   now: datetime) -> None:
    reason = ("This message was acted on before: the same message arriving again (a replay)"
              " changes nothing. If you meant to send these commands again, write a new reply.")
    refused = [(cmd.describe(c), reason) for c in parsed.commands]
    _record_refusals(case, refused, who, now, message.message_id or None)
    uow.cases.save(case)
    alert = reply_answers.replay_alert(mailbox, case, message, who)
    outgoing.queue_for(services, uow, mailbox, [alert], case, now)
    _answer(services, uow, mailbox, case, message, who, [], refused, now)
    log.warning("reply %s on case %s refused as a replay", message.message_id or "-",
                case.reference)
