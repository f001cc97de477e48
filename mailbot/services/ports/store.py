"""Ports for storage (adapter: sqlalchemy_store) and the reference marker kept beside it."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from mailbot.domain.case import Case
from mailbot.domain.digest import CaseDates
from mailbot.domain.reporting import CaseOutline
from mailbot.services.stored import (
    CaseSummary,
    ChildOnRecord,
    InboundMark,
    InboundRecord,
    InboundStatus,
    Lease,
    MailErased,
    MailWaiting,
    OutboxItem,
    OutboxRow,
    OutgoingEntry,
    SentMessage,
    StoredMessage,
)

# ---------------------------------------------------------------------------------------------
# Storage (adapter: sqlalchemy_store). One ``UnitOfWork`` is one transaction: a use case loads
# cases, changes them, logs the inbound message and queues outgoing mail, then commits all of
# it or none of it. The records that cross these live in ``services.stored``.
# ---------------------------------------------------------------------------------------------


class CaseRepository(Protocol):
    def add(self, case: Case) -> None: ...
    def save(self, case: Case) -> None: ...  # writes a loaded case's changes and its new events
    def get(self, reference: str) -> Case | None: ...  # locks the row for update where it can
    def get_many(self, references: Sequence[str]) -> None: ...  # loads them for get, at once
    def next_reference(self, prefix: str, year: int) -> str: ...
    def summaries(self, status: str | None = None) -> list[CaseSummary]: ...
    def due_for_chasing(self, now: datetime, limit: int = 500) -> list[str]: ...
    def reference_counters(self) -> dict[str, int]: ...  # {"BSCP-2026": last number issued}
    def raise_counters(self, at_least: dict[str, int]) -> None: ...  # never lowers one


class InboundLog(Protocol):
    def record(self, mailbox: str, uidvalidity: int, uid: str, message_id: str,
               data: bytes) -> InboundRecord | None: ...  # None: this message was seen before
    # record() for a batch of (mailbox, uidvalidity, uid, message_id, data); how many were new
    def record_many(self, messages: Sequence[tuple[str, int, str, str, bytes]]) -> int: ...
    def find(self, mailbox: str, uidvalidity: int, uid: str, data: bytes) -> InboundRecord | None: ...
    def pending(self, mailbox: str, limit: int = 200) -> list[InboundRecord]: ...  # oldest first
    # Takes pending messages for this transaction: the ids taken. One is passed by when it is
    # done already, or another worker's transaction has it.
    def claim_many(self, record_ids: Sequence[int]) -> set[int]: ...
    def mark(self, record_id: int, status: InboundStatus, case_reference: str | None = None,
             error: str = "") -> None: ...
    # mark() for each (record_id, status, case_reference, error), in one go
    def mark_many(self, marks: Sequence[InboundMark]) -> None: ...
    def raw(self, record_id: int) -> bytes: ...


class Outbox(Protocol):
    def enqueue(self, item: OutboxItem) -> bool: ...  # False: already queued, nothing added
    # enqueue() for each item in turn, in one go; of two items with the same key the first wins
    def enqueue_many(self, items: Sequence[OutboxItem]) -> list[bool]: ...
    # Due at ``now`` and held by no send pass at ``claims_at`` (the real clock; default ``now``).
    # Only the rows sent from ``sender`` (an envelope address) when given.
    def due(self, now: datetime, limit: int = 100, claims_at: datetime | None = None,
            sender: str | None = None) -> list[OutboxRow]: ...
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
    # Asks about many addresses at once, so that ``known`` about them need not ask again.
    def look_up(self, mailbox: str, addresses: Iterable[str]) -> None: ...
    def vouch(self, mailbox: str, addresses: Iterable[str], at: datetime) -> None: ...


class StateStore(Protocol):
    """Small named values the worker keeps across restarts (a mailbox's health, a cursor)."""

    def get(self, key: str) -> str | None: ...
    def set(self, key: str, value: str) -> None: ...
    def setdefault(self, key: str, value: str) -> str: ...  # the kept value, set if there was none


class CaseRecords(Protocol):
    def open_cases(self, policy_key: str) -> list[Case]: ...
    def opened_or_closed(self, policy_key: str, since: datetime,
                         until: datetime) -> list[CaseDates]: ...
    def outlines(self, start: datetime, end: datetime,
                 policy_keys: list[str] | None = None) -> list[CaseOutline]: ...
    def children(self) -> list[ChildOnRecord]: ...
    def closed_before(self, moment: datetime) -> list[tuple[str, str, datetime]]: ...
    def get_for_update(self, reference: str) -> Case | None: ...
    def replace_anonymised(self, case: Case) -> None: ...
    def erase_mail(self, reference: str, note: str) -> MailErased: ...
    # Mail linked to no case, done with and older than ``before``: counted, or emptied.
    def erase_unlinked_mail(self, before: datetime, note: str, dry_run: bool) -> MailErased: ...


class Upkeep(Protocol):
    """What an operator lists and puts right: quarantined messages, outgoing mail, counts."""

    def stored(self, status: str, limit: int = 1000) -> list[StoredMessage]: ...
    def stored_one(self, record_id: int) -> StoredMessage | None: ...
    def reopen(self, record_id: int) -> bool: ...  # quarantined -> received, in this transaction
    def inbound_counts(self, mailbox: str) -> dict[str, int]: ...  # received, quarantined
    def outgoing(self, statuses: tuple[str, ...] = ("queued", "failed"),
                 limit: int = 1000) -> list[OutgoingEntry]: ...
    def outgoing_one(self, row_id: int) -> OutgoingEntry | None: ...
    def outgoing_counts(self, envelope_from: str) -> dict[str, int]: ...  # queued, failed
    def retry(self, row_id: int) -> bool: ...


class Leases(Protocol):
    """Which worker works each mailbox and job, until when (any number of workers, one DB)."""

    # True: ``name`` is now ``holder``'s until ``until``; False: another's lease on it runs.
    def take(self, name: str, holder: str, now: datetime, until: datetime) -> bool: ...
    # Those of ``names`` still ``holder``'s and running, renewed until ``until``.
    def renew(self, names: Sequence[str], holder: str, now: datetime,
              until: datetime) -> set[str]: ...
    def release(self, names: Sequence[str], holder: str) -> None: ...
    def running(self, prefix: str, now: datetime) -> list[Lease]: ...


class UnitOfWork(Protocol):
    cases: CaseRepository
    inbound: InboundLog
    outbox: Outbox
    state: StateStore
    commands: CommandLog
    known: KnownAddresses
    upkeep: Upkeep
    leases: Leases
    records: CaseRecords  # the partnership-wide view: digest, report, retention, subject access
    # None: the mail a use case composes is written to the outbox at once. A use case acting
    # on many things in one transaction (the deadline pass, acting on a chunk of messages)
    # sets a list instead: the mail waits there, and goes in one INSERT before the commit,
    # or sooner past a byte budget (``messaging``). Only mail not yet sent waits, so a
    # look-up by a sent Message-ID (a reply, a bounce) cannot miss it; what counts or
    # releases unsent rows stores the waiting mail first (the loop guard,
    # ``outgoing.accept``). A savepoint may not begin with mail waiting, and its rollback
    # drops the mail composed inside it.
    mail_waiting: MailWaiting | None

    def __enter__(self) -> UnitOfWork: ...
    def __exit__(self, *exc: object) -> None: ...  # rolls back what was not committed
    def commit(self) -> None: ...
    def rollback(self) -> None: ...
    # Undone alone, with the error raised on, if the block fails; the rest of the transaction stands.
    def savepoint(self) -> AbstractContextManager[None]: ...


# ---------------------------------------------------------------------------------------------
# The reference marker (adapter: reference_marker), kept outside the database
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class KeptMarker:
    """The database mailbot last used, and the highest number it issued in each reference
    series (``"BSCP-2026"`` -> 42)."""

    database_id: str
    references: dict[str, int]


class ReferenceMarker(Protocol):
    def read(self) -> KeptMarker | None: ...  # None: no marker kept yet
    def write(self, marker: KeptMarker) -> None: ...
    def note_issued(self, references: list[str]) -> None: ...  # after a commit; never raises
