"""The storage ports the service layer talks to, and the records that cross them.

One ``UnitOfWork`` is one transaction: a use case loads cases, changes them, logs the
inbound message and queues outgoing mail, then commits all of it or none of it. The
SQLAlchemy adapter implements these; unit tests use hand-written fakes.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from mailbot.domain.case import Case

if TYPE_CHECKING:
    from mailbot.services.records import CaseRecords


@dataclass(frozen=True)
class CaseSummary:
    reference: str
    policy_key: str
    stage: int
    status: str
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
    status: str  # received | processed | ignored | quarantined
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


@dataclass(frozen=True)
class OutboxRow:
    id: int
    item: OutboxItem
    attempts: int
    status: str  # queued | sent | failed
    last_error: str = ""


@dataclass(frozen=True)
class SentMessage:
    """What we know of a Message-ID we issued: which case and to whom."""

    message_id: str
    case_reference: str | None
    recipient: str
    template: str
    sender: str = ""  # the partnership address it was sent from


class CaseRepository(Protocol):
    def add(self, case: Case) -> None: ...
    def save(self, case: Case) -> None: ...  # writes a loaded case's changes and its new events
    def get(self, reference: str) -> Case | None: ...  # locks the row for update where it can
    def get_many(self, references: Sequence[str]) -> None: ...  # loads them for get, at once
    def next_reference(self, prefix: str, year: int) -> str: ...
    def summaries(self, status: str | None = None) -> list[CaseSummary]: ...
    def due_for_chasing(self, now: datetime, limit: int = 500) -> list[str]: ...


class InboundLog(Protocol):
    def record(self, mailbox: str, uidvalidity: int, uid: str, message_id: str,
               data: bytes) -> InboundRecord | None: ...  # None: this message was seen before
    # record() for a batch of (mailbox, uidvalidity, uid, message_id, data); how many were new
    def record_many(self, messages: Sequence[tuple[str, int, str, str, bytes]]) -> int: ...
    def find(self, mailbox: str, uidvalidity: int, uid: str, data: bytes) -> InboundRecord | None: ...
    def pending(self, mailbox: str, limit: int = 200) -> list[InboundRecord]: ...  # oldest first
    def mark(self, record_id: int, status: str, case_reference: str | None = None,
             error: str = "") -> None: ...
    def raw(self, record_id: int) -> bytes: ...


class Outbox(Protocol):
    def enqueue(self, item: OutboxItem) -> bool: ...  # False: already queued, nothing added
    def due(self, now: datetime, limit: int = 100) -> list[OutboxRow]: ...
    # The ids of the due rows this send pass takes (their next attempt moves on to ``until``);
    # another worker's pass claiming the same rows at once gets none of them.
    def claim(self, row_ids: Sequence[int], now: datetime, until: datetime) -> set[int]: ...
    def mark_sent(self, row_id: int, now: datetime) -> None: ...
    def mark_failed(self, row_id: int, now: datetime, error: str, *, permanent: bool,
                    retry_at: datetime | None) -> None: ...
    # Not the message's fault (our own login was refused): try again later, attempt not counted.
    def postpone(self, row_ids: Sequence[int], until: datetime, reason: str) -> None: ...
    def lookup(self, message_ids: Sequence[str]) -> list[SentMessage]: ...
    def data_of(self, message_ids: Sequence[str]) -> list[bytes]: ...
    # Answers of these templates to one recipient since a moment, queued ones included.
    def answers_since(self, recipient: str, since: datetime, templates: Sequence[str]) -> int: ...
    def release_held(self, case_reference: str) -> int: ...
    def held_recipients(self, case_reference: str) -> list[str]: ...


class CommandLog(Protocol):
    """Command messages acted on, by hashed keys (Message-ID; sender, date and text)."""

    def acted_on(self, mailbox: str, keys: Sequence[str]) -> str | None: ...
    def remember(self, mailbox: str, keys: Sequence[str], case_reference: str,
                 at: datetime) -> None: ...


class KnownAddresses(Protocol):
    """Addresses a partnership's business managers have vouched for."""

    def known(self, mailbox: str, addresses: Iterable[str]) -> set[str]: ...
    def vouch(self, mailbox: str, addresses: Iterable[str], at: datetime) -> None: ...


class StateStore(Protocol):
    """Small named values the worker keeps across restarts (a mailbox's health, a cursor)."""

    def get(self, key: str) -> str | None: ...
    def set(self, key: str, value: str) -> None: ...


class UnitOfWork(Protocol):
    cases: CaseRepository
    inbound: InboundLog
    outbox: Outbox
    state: StateStore
    commands: CommandLog
    known: KnownAddresses
    records: CaseRecords  # the partnership-wide view: digest, report, retention, subject access

    def __enter__(self) -> UnitOfWork: ...
    def __exit__(self, *exc: object) -> None: ...  # rolls back what was not committed
    def commit(self) -> None: ...
    def rollback(self) -> None: ...
    # Undone alone, with the error raised on, if the block fails; the rest of the transaction stands.
    def savepoint(self) -> AbstractContextManager[None]: ...
