"""What a reply causes to be sent back: the sender's answer, and what the business managers
are told (a note or a refused command passed on, a replay, a forgery, a misdirected reply).

An answer to a sender who has not shown that mailbot wrote to them about the case (a
reference in a subject proves nothing) names no stage, status or deadline: those answers
are composed without the case, so the reference alone gives nothing away.
"""

from __future__ import annotations

import hashlib

from mailbot.domain.case import Case
from mailbot.domain.notices import AUTO_REPLIED, Notice, Template, unique_people
from mailbot.domain.referral import Person
from mailbot.domain.service_notice_contexts import (
    CommandAnswer,
    CommandConfirmation,
    CommandRefusal,
    ForAttention,
    SecurityAlert,
)
from mailbot.intake.message import InboundMessage
from mailbot.services.context import MailboxContext
from mailbot.services.reply_checks import Standing


def answers(mailbox: MailboxContext, case: Case, message: InboundMessage, who: Standing,
            done: list[str], refused: list[tuple[str, str]]) -> list[Notice]:
    """The confirmation and the refusal for the sender of a reply."""
    if not who.address:
        return []
    to = (Person(who.name, who.address),)
    reference, told = case.reference, _told(mailbox, who)
    notices = []
    if done:
        notices.append(_answer(Template.COMMAND_CONFIRMATION, to, case, message,
                               CommandConfirmation(reference=reference, told=told,
                                                   commands=done)))
    if refused:
        notices.append(_answer(Template.COMMAND_REFUSAL, to, case, message,
                               CommandRefusal(reference=reference, told=told,
                                              commands=[c for c, _ in refused],
                                              reasons=[r for _, r in refused])))
    return notices


def for_managers(mailbox: MailboxContext, case: Case, who: Standing, text: str,
                 done: list[str], refused: list[tuple[str, str]]) -> list[Notice]:
    """What a person other than a business manager wrote, passed to the business managers."""
    if who.business_manager and who.verified:
        return []
    happened = [f"Recorded: {line}" for line in done]
    happened += [f"Not taken: {line}. Why: {reason}" for line, reason in refused]
    if not done and not refused:
        happened = ["No command in it: it was filed on the case as correspondence."]
    return [_to_managers(mailbox, case, who, "For your attention", text, happened,
                         key=f"attention:{_digest(who.address + text)}")]


def nothing_ran(case: Case, message: InboundMessage, who: Standing) -> Notice:
    """A business manager's reply whose only commands were in the quoted text."""
    reason = ("Your reply had no command of its own above the quoted email, so nothing was run."
              " Commands in quoted text, mailbot's own emails included, are never run: write"
              " the command on its own line at the top of your reply.")
    return _answer(Template.COMMAND_REFUSAL, (Person(who.name, who.address),), case, message,
                   CommandRefusal(reference=case.reference, reasons=[reason]))


def replay_alert(mailbox: MailboxContext, case: Case, message: InboundMessage,
                 who: Standing) -> Notice:
    return _to_managers(mailbox, case, who, "A message was delivered again (replay)", "", [
        f"A message from {who.address} that mailbot had already acted on arrived again"
        f" (Message-ID {message.message_id or 'none'}). Its commands were not run a second time.",
        "If nobody resent it on purpose, someone may be replaying a manager's email: tell your"
        " IT security team."], key=f"replay:{_digest(message.message_id + who.address)}")


def forgery_alert(mailbox: MailboxContext, case: Case, message: InboundMessage,
                  who: Standing) -> Notice:
    return _to_managers(mailbox, case, who, "A forged sender check was found", "", [
        f"A message in the name of {who.address} carried a sender check that our mail server"
        f" cannot have written: {who.trust.reason}", "Nothing it asked for was done. If it keeps"
        " happening, ask IT to make the mail server remove Authentication-Results headers from"
        " incoming mail (see README, 'Sender checks')."],
        key=f"forgery:{_digest(message.message_id + who.address)}")


def misdirected_alert(owner: MailboxContext, case: Case, arrived_at: MailboxContext,
                      message: InboundMessage) -> Notice:
    """To the business managers whose case another partnership's mailbox was asked about."""
    sender = message.sender.email if message.sender else "an unknown sender"
    return Notice(Template.SECURITY_ALERT, owner.partnership.business_managers, case.stage,
                  key=f"misdirected:{_digest(message.message_id + sender)}",
                  context=SecurityAlert(
                      heading="A reply about this case reached another partnership",
                      items=[f"{sender} wrote to {arrived_at.address}"
                             f" ({arrived_at.policy.name}) about this case. Nothing was"
                             " done: only this partnership's own mailbox acts on its"
                             " cases, and nothing about the case was sent back."]))


def misdirected_answer(arrived_at: MailboxContext, message: InboundMessage,
                       reason: str) -> list[Notice]:
    """To the sender of a reply this mailbox will not act on; it says nothing about any case."""
    sender = message.sender
    if sender is None:
        return []
    return [_answer(Template.COMMAND_REFUSAL, (Person(sender.name, sender.email),), None, message,
                    CommandRefusal(reasons=[reason]))]


def correspondence_summary(message: InboundMessage, who: Standing) -> str:
    sender = who.address or ", ".join(a.email for a in message.from_addresses) or "unknown sender"
    flag = "" if who.verified else " (unverified sender)"
    return f"Correspondence from {sender}{flag}: {message.subject or '(no subject)'}"


def _answer(template: Template, to: tuple[Person, ...], case: Case | None, message: InboundMessage,
            context: CommandAnswer) -> Notice:
    key = "reply:" + _digest(message.message_id or "")
    return Notice(template, to, case.stage if case else None, key=key, context=context,
                  auto_submitted=AUTO_REPLIED, in_reply_to=message.message_id or None)


def _to_managers(mailbox: MailboxContext, case: Case, who: Standing, heading: str, text: str,
                 happened: list[str], *, key: str) -> Notice:
    managers = unique_people(p for p in mailbox.partnership.business_managers
                             if p.email.lower() != who.address)
    sender = Person(who.name, who.address).formatted() if who.address else "an unknown sender"
    return Notice(Template.FOR_ATTENTION, managers or mailbox.partnership.business_managers,
                  case.stage, key=key,
                  context=ForAttention(heading=heading, sender=sender, verified=who.verified,
                                       text=text, happened=happened))


def _told(mailbox: MailboxContext, who: Standing) -> str:
    if who.business_manager and who.verified:
        return ""
    return f"the business managers of {mailbox.policy.name}"


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "replace")).hexdigest()[:16]
