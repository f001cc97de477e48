"""Which case a message is about, and how sure we are: the threading step of intake.

A reply is matched only against mail this mailbox sent, to this sender (contract section 4).
In-Reply-To decides; References are a fallback that must point at one case; a ``[REF]`` tag
in the subject must agree with the thread. A message matched by its tag alone is about the
case but proves nothing about its sender, so it may add a note but learns nothing back.
A thread or tag that belongs to another partnership's mailbox is never acted on here.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from mailbot.domain.case import Case
from mailbot.intake.classify import subject_reference
from mailbot.intake.message import InboundMessage
from mailbot.services.context import MailboxContext
from mailbot.services.ports import UnitOfWork
from mailbot.services.stored import SentMessage


@dataclass(frozen=True)
class CaseMatch:
    """``case`` is set when the message is this mailbox's to act on; ``threaded`` when it
    replies to mail this mailbox sent its sender. ``problem`` says why a thread cannot be
    trusted to name one case; ``foreign`` names another mailbox whose case it points to."""

    case: Case | None = None
    threaded: bool = False
    problem: str = ""
    foreign: str | None = None  # the reference of another partnership's case it points to

    @property
    def is_reply(self) -> bool:
        return self.case is not None or bool(self.problem) or self.foreign is not None


def match_case(uow: UnitOfWork, mailbox: MailboxContext, message: InboundMessage) -> CaseMatch:
    sender = message.sender.email.lower() if message.sender else ""
    sent = {s.message_id: s for s in uow.outbox.lookup([*message.in_reply_to,
                                                        *message.references])}
    ours = {mid: s for mid, s in sent.items()
            if s.case_reference and _from(s, mailbox) and sender and s.recipient == sender}
    tag = subject_reference(message.subject or "")
    reference, problem = _threaded_reference(message, ours)
    if problem:
        return CaseMatch(problem=problem)
    if reference:
        if tag and tag != reference:
            return CaseMatch(problem=(
                f"Your message answers an email about {reference}, but its subject names"
                f" [{tag}]. Nothing was done, so that no case is changed by mistake: reply to an"
                " email about the case you mean, keeping its subject."))
        return CaseMatch(uow.cases.get(reference), threaded=True)
    foreign = next((s for s in sent.values() if s.case_reference and not _from(s, mailbox)), None)
    return _by_tag(uow, mailbox, tag, foreign)


def _threaded_reference(message: InboundMessage,
                        ours: dict[str, SentMessage]) -> tuple[str | None, str]:
    """The case In-Reply-To names; else the one case References name; else a problem."""
    for message_id in message.in_reply_to:
        if message_id in ours:
            return ours[message_id].case_reference, ""
    cases = _distinct(ours[m].case_reference for m in message.references if m in ours)
    if len(cases) > 1:
        return None, ("Your message refers to emails about more than one case ("
                      + ", ".join(cases) + "). Nothing was done: reply to one email about the"
                      " case you mean.")
    return (cases[0] if cases else None), ""


def _by_tag(uow: UnitOfWork, mailbox: MailboxContext, tag: str | None,
            foreign: SentMessage | None) -> CaseMatch:
    case = uow.cases.get(tag) if tag else None
    if case is not None and case.policy_key == mailbox.policy.key:
        return CaseMatch(case)
    if case is not None:
        return CaseMatch(foreign=case.reference)
    if foreign is not None:
        return CaseMatch(foreign=foreign.case_reference or "")
    return CaseMatch()


def _from(sent: SentMessage, mailbox: MailboxContext) -> bool:
    return sent.sender.lower() == mailbox.address.lower()


def _distinct(references: Iterable[str | None]) -> list[str]:
    return sorted({r for r in references if r})
