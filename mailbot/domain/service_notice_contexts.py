"""What each notice the service layer makes tells its template, as typed values.

The case engine's notices carry ``notice_contexts``; these are the rest: answers to a
person's own message, alerts to the business managers about mail and the system itself, and
the weekly digest. A service fills one and the renderer reads it, so a missing or misspelt
fact is a type error where the notice is made, not a blank in an email. A default is what the
email says when the fact does not apply (no told, no received time), never a stand-in.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from mailbot.domain.notice_contexts import NoticeContext

if TYPE_CHECKING:  # the digest module imports the engine, which imports these contexts
    from mailbot.domain.digest import CaseChange, OpenCaseLine


@dataclass(frozen=True, kw_only=True)
class CommandAnswer(NoticeContext):
    """What both answers to a reply's commands say: which case, and who else was told."""

    reference: str = ""  # the case's, for an answer composed without it
    told: str = ""  # "the business managers of ..." when the reply was passed on
    commands: list[str] = field(default_factory=list)


@dataclass(frozen=True, kw_only=True)
class CommandConfirmation(CommandAnswer):
    results: list[str] = field(default_factory=list)


@dataclass(frozen=True, kw_only=True)
class CommandRefusal(CommandAnswer):
    reasons: list[str] = field(default_factory=list)
    reason: str = ""  # one reason on its own line above the others


@dataclass(frozen=True, kw_only=True)
class PleaseCorrect(NoticeContext):
    """The answer to a Request for Resolution that could not open a case."""

    problems: list[str]
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True, kw_only=True)
class ForAttention(NoticeContext):
    """A message, or something that happened, passed to the business managers."""

    heading: str = "For your attention"
    sender: str = ""
    verified: bool = False
    text: str = ""
    happened: list[str] = field(default_factory=list)


@dataclass(frozen=True, kw_only=True)
class SecurityAlert(NoticeContext):
    heading: str
    items: list[str]


@dataclass(frozen=True, kw_only=True)
class QuarantineAlert(NoticeContext):
    reason: str
    message_id: str = ""
    sender: str = ""
    mailbox: str = ""  # else the email names the partnership
    received_at: datetime | None = None


@dataclass(frozen=True, kw_only=True)
class MailboxAlert(NoticeContext):
    mailbox: str
    error: str = ""  # why it cannot be read; "" once it can
    since: datetime | None = None  # when it started failing


@dataclass(frozen=True, kw_only=True)
class JobAlert(NoticeContext):
    job: str
    error: str  # the failure, or (on recovery) the failure it recovered from


@dataclass(frozen=True, kw_only=True)
class DigestFacts(NoticeContext):
    """The weekly digest; ``chart_cid`` names the inline chart of ``by_stage`` the HTML shows."""

    week: str
    since: datetime
    open_cases: tuple[OpenCaseLine, ...]
    opened: tuple[CaseChange, ...]
    closed: tuple[CaseChange, ...]
    by_stage: tuple[tuple[str, int], ...]
    overdue: int
    chart_cid: str
