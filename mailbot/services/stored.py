"""The records that cross the storage ports (``services.ports``: ``UnitOfWork`` and the
stores it holds): plain frozen values, so neither side sees the other's types.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from mailbot.domain.case import CaseStatus
from mailbot.domain.notices import Notice


class InboundStatus(StrEnum):
    RECEIVED = "received"  # stored; nothing has acted on it yet
    PROCESSED = "processed"
    IGNORED = "ignored"  # our own mail, an automatic reply, a bounce of nothing we know
    QUARANTINED = "quarantined"  # acting on it failed: kept, and the business managers told


# What acting on one stored message came to: (its id, status, case reference, note).
InboundMark = tuple[int, InboundStatus, str | None, str]


class OutboxStatus(StrEnum):
    QUEUED = "queued"
    SENT = "sent"
    FAILED = "failed"  # for good: the business managers are told
    HELD = "held"  # to an address nobody vouched for, until the case is accepted


@dataclass(frozen=True)
class CaseSummary:
    reference: str
    policy_key: str
    stage: int
    status: CaseStatus
    deadline: datetime | None


@dataclass(frozen=True)
class InboundRecord:
    """A raw message as stored before anything acts on it."""

    id: int
    mailbox: str
    uidvalidity: int
    uid: str
    message_id: str
    sha256: str
    status: InboundStatus
    case_reference: str | None = None


@dataclass(frozen=True)
class OutboxItem:
    """One email to one recipient, rendered and ready; unique per
    (case_reference, template, stage, key, recipient)."""

    case_reference: str | None
    template: str
    stage: int | None
    key: str
    recipient: str
    message_id: str
    envelope_from: str
    data: bytes
    held: bool = False  # to an address nobody vouched for: not sent until the case is accepted


class MailWaiting:
    """Mail composed in a transaction and not yet written to the outbox: each notice with the
    row it makes for one recipient, and the rows' size, which ``messaging`` keeps under a
    budget."""

    __slots__ = ("rows", "size")

    def __init__(self) -> None:
        self.rows: list[tuple[Notice, OutboxItem]] = []
        self.size = 0

    def __len__(self) -> int:
        return len(self.rows)

    def add(self, notice: Notice, item: OutboxItem) -> None:
        self.rows.append((notice, item))
        self.size += len(item.data)

    def take(self) -> list[tuple[Notice, OutboxItem]]:
        """The rows, leaving none."""
        rows, self.rows, self.size = self.rows, [], 0
        return rows


@dataclass(frozen=True)
class OutboxRow:
    id: int
    item: OutboxItem
    attempts: int
    status: OutboxStatus
    last_error: str = ""
    interrupted: bool = False  # a send pass claimed it and died: it may have been delivered


@dataclass(frozen=True)
class StoredMessage:
    """A stored message as an operator sees it in a list (never its text)."""

    id: int
    mailbox: str
    message_id: str
    status: str
    received_at: datetime
    error: str


@dataclass(frozen=True)
class OutgoingEntry:
    """An outgoing row as an operator sees it in a list."""

    id: int
    status: str
    template: str
    recipient: str
    case_reference: str
    envelope_from: str
    attempts: int
    next_attempt_at: datetime
    last_error: str


@dataclass(frozen=True)
class SentMessage:
    """What we know of a Message-ID we issued: which case and to whom."""

    message_id: str
    case_reference: str | None
    recipient: str
    template: str
    sender: str = ""  # the partnership address it was sent from


@dataclass(frozen=True)
class ChildOnRecord:
    reference: str
    policy_key: str
    status: CaseStatus
    opened_at: datetime
    child_name: str
    child_dob: str  # ISO date as stored, '' when the form gave none


@dataclass(frozen=True)
class MailErased:
    inbound: int  # raw messages emptied
    outbox: int  # sent (or queued) messages emptied


@dataclass(frozen=True)
class Lease:
    """One worker's hold on a mailbox or a job (``worker:ID``: that the worker is alive)."""

    name: str
    holder: str
    expires_at: datetime
    since: datetime
