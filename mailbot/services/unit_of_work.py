"""The storage ports the service layer talks to, and the records that cross them.

One ``UnitOfWork`` is one transaction: a use case loads cases, changes them, logs the
inbound message and queues outgoing mail, then commits all of it or none of it. The
SQLAlchemy adapter implements these; unit tests use hand-written fakes.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
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
    interrupted: bool = False  # a send pass claimed it and died: it may have been delivered


@dataclass(frozen=True)
class SentMessage:
    """What we know of a Message-ID we issued: which case and to whom."""

    message_id: str
    case_reference: str | None
    recipient: str
    template: str
    sender: str = ""  # the partnership address it was sent from


@dataclass(frozen=True)
class Lease:
    """One worker's hold on a mailbox or a job (``worker:ID``: that the worker is alive)."""

    name: str
    holder: str
    expires_at: datetime
    since: datetime


class CaseRepository(Protocol):
    def add(self, case: Case) -> None: ...
    def save(self, case: Case) -> None: ...  # writes a loaded case's changes and its new events
    def get(self, reference: str) -> Case | None: ...  # locks the row for update where it can
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
    # Takes a pending message for this transaction; False: done already, or another worker has it.
    def claim(self, record_id: int) -> bool: ...
    def mark(self, record_id: int, status: str, case_reference: str | None = None,
             error: str = "") -> None: ...
    def raw(self, record_id: int) -> bytes: ...


class Outbox(Protocol):
    def enqueue(self, item: OutboxItem) -> bool: ...  # False: already queued, nothing added
    # Due at ``now`` and held by no send pass at ``claims_at`` (the real clock; default ``now``).
    def due(self, now: datetime, limit: int = 100, claims_at: datetime | None = None) -> list[OutboxRow]: ...
    # The ids of the rows due at ``now`` this send pass takes until ``until`` (a claim timed by
    # ``claims_at``, the real clock); another worker's pass claiming them at once gets none.
    def claim(self, row_ids: Sequence[int], now: datetime, until: datetime,
              claims_at: datetime | None = None) -> set[int]: ...
    # Moves the claim on rows this pass still holds (claimed until ``held_until``) on to ``until``.
    def extend_claim(self, row_ids: Sequence[int], held_until: datetime,
                     until: datetime) -> set[int]: ...
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


class Leases(Protocol):
    """Which worker works each mailbox and job, until when (any number of workers, one DB)."""

    # True: ``name`` is now ``holder``'s until ``until``; False: another's lease on it runs.
    def take(self, name: str, holder: str, now: datetime, until: datetime) -> bool: ...
    def release(self, names: Sequence[str], holder: str) -> None: ...
    def running(self, prefix: str, now: datetime) -> list[Lease]: ...


class UnitOfWork(Protocol):
    cases: CaseRepository
    inbound: InboundLog
    outbox: Outbox
    state: StateStore
    commands: CommandLog
    known: KnownAddresses
    leases: Leases
    records: CaseRecords  # the partnership-wide view: digest, report, retention, subject access

    def __enter__(self) -> UnitOfWork: ...
    def __exit__(self, *exc: object) -> None: ...  # rolls back what was not committed
    def commit(self) -> None: ...
    def rollback(self) -> None: ...
