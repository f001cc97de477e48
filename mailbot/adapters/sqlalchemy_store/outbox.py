"""The transactional outbox: mail is queued in the same transaction as the change that causes
it, and a separate send pass delivers it.

One row per (case, template, stage, key, recipient): ``enqueue`` of the same message again
adds nothing and returns False. A row to an address nobody has vouched for yet is ``held``:
it is never sent until ``release_held`` (the business managers accepted the case). The
Message-ID is fixed when the row is written, so a reply
or a bounce can be matched to its case by ``lookup`` whether or not the row was sent yet.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from sqlalchemy import func, literal_column, null, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from mailbot.adapters.sqlalchemy_store.orm import OutboxMessageRow
from mailbot.adapters.sqlalchemy_store.pipelined import insert_returning, psycopg_session
from mailbot.adapters.sqlalchemy_store.sql import translated
from mailbot.domain.errors import PermanentError
from mailbot.services.stored import OutboxItem, OutboxRow, OutboxStatus, SentMessage

# The status column holds the statuses' text.
QUEUED, SENT = OutboxStatus.QUEUED.value, OutboxStatus.SENT.value
FAILED, HELD = OutboxStatus.FAILED.value, OutboxStatus.HELD.value
MAX_ERROR = 2000
_LOOKUP_CHUNK = 500  # keeps IN (...) lists well under every driver's parameter limit
# A new row is due at once, whatever clock the send pass runs on; it sorts before retries.
AT_ONCE = datetime(2000, 1, 1, tzinfo=UTC)


class SqlOutbox:
    def __init__(self, session: Session, clock: Callable[[], datetime]):
        self._session, self._clock = session, clock

    @translated
    def enqueue(self, item: OutboxItem) -> bool:
        """True if queued; False if this message was already queued for this recipient."""
        return self.enqueue_many([item]) == [True]

    @translated
    def enqueue_many(self, items: Sequence[OutboxItem]) -> list[bool]:
        """``enqueue`` for several rows in one statement, in order; of two with the same key
        the first is queued. The rows queued are told apart by their Message-IDs, which
        come back from the INSERT: a statement a row had been a fifth of queueing mail."""
        if not items:
            return []
        created_at = self._clock()
        statement = _enqueue_statement(self._session.get_bind().dialect.name)
        rows = [dict(case_reference=item.case_reference or "", template=item.template,
                     stage=item.stage or 0, key=item.key, recipient=item.recipient,
                     message_id=_bare(item.message_id), envelope_from=item.envelope_from,
                     data=item.data, status=HELD if item.held else QUEUED,
                     next_attempt_at=AT_ONCE, created_at=created_at) for item in items]
        if psycopg_session(self._session):  # a chunk's mail at once: see ``pipelined``
            added = set(insert_returning(self._session, statement, rows))
        else:  # on the session's connection, without the ORM's look for work (``cases``)
            added = set(self._session.connection().scalars(statement, rows))
        return [_bare(item.message_id) in added for item in items]

    @translated
    def due(self, now: datetime, limit: int = 100, claims_at: datetime | None = None,
            sender: str | None = None) -> list[OutboxRow]:
        """Queued rows whose next attempt has come and that no send pass holds at
        ``claims_at`` (default ``now``), oldest first (index ix_outbox_due); only those sent
        from ``sender`` when given."""
        statement = (select(OutboxMessageRow)
                     .where(OutboxMessageRow.status == QUEUED, OutboxMessageRow.next_attempt_at <= now,
                            _unclaimed(claims_at or now)))
        if sender is not None:
            statement = statement.where(OutboxMessageRow.envelope_from == sender)
        rows = self._session.scalars(
            statement.order_by(OutboxMessageRow.next_attempt_at, OutboxMessageRow.id).limit(limit))
        return [_outbox_row(row) for row in rows]

    @translated
    def claim(self, row_ids: Sequence[int], now: datetime, until: datetime,
              claims_at: datetime | None = None) -> set[int]:
        """Takes rows due at ``now`` for one send pass until ``until``; returns the ids it took.
        A claim is timed by ``claims_at`` (default ``now``), the worker's real clock, apart from
        when a row is due (``--now`` may pretend that), so a dead pass's claims always run out.
        Two workers' passes may read the same due rows: each row goes to exactly one of them.
        On PostgreSQL the rows are locked with SKIP LOCKED, so a pass passes by the rows another
        is claiming instead of queueing behind its lock (and two passes locking rows in
        different orders cannot deadlock); SQLite's BEGIN IMMEDIATE already serialises the
        passes, and the UPDATE re-checks each row."""
        table = OutboxMessageRow.__table__
        postgres = self._session.get_bind().dialect.name == "postgresql"
        free = (table.c.status == QUEUED, table.c.next_attempt_at <= now,
                _unclaimed(claims_at or now, table.c.claimed_until))
        claimed: set[int] = set()
        for start in range(0, len(row_ids), _LOOKUP_CHUNK):
            chunk = list(row_ids[start:start + _LOOKUP_CHUNK])
            if postgres:
                locked = select(table.c.id).where(table.c.id.in_(chunk), *free).with_for_update(
                    skip_locked=True)
                statement = update(table).where(table.c.id.in_(locked))
            else:
                statement = update(table).where(table.c.id.in_(chunk), *free)
            claimed.update(self._session.scalars(
                statement.values(claimed_until=until).returning(table.c.id)))
        return claimed

    @translated
    def extend_claim(self, row_ids: Sequence[int], held_until: datetime,
                     until: datetime) -> set[int]:
        """Moves this pass's claim on rows it still holds (claimed until ``held_until`` and not
        sent yet) on to ``until``, before a slow batch outlasts it; returns the ids still held."""
        if not row_ids:
            return set()
        table = OutboxMessageRow.__table__
        return set(self._session.scalars(
            update(table).where(table.c.id.in_(list(row_ids)), table.c.status == QUEUED,
                                table.c.claimed_until == held_until)
            .values(claimed_until=until).returning(table.c.id)))

    @translated
    def mark_sent(self, row_id: int, now: datetime) -> None:
        self._change(row_id, status=SENT, sent_at=now, claimed_until=None,
                     attempts=OutboxMessageRow.attempts + 1)

    @translated
    def mark_failed(self, row_id: int, now: datetime, error: str, *, permanent: bool,
                    retry_at: datetime | None) -> None:
        """A permanent failure is final; a transient one stays queued until ``retry_at``."""
        self._change(row_id, status=FAILED if permanent else QUEUED,
                     next_attempt_at=retry_at or now, last_error=error[-MAX_ERROR:], claimed_until=None,
                     attempts=OutboxMessageRow.attempts + 1)

    @translated
    def postpone(self, row_ids: Sequence[int], until: datetime, reason: str) -> None:
        """Keeps rows queued until ``until`` without counting an attempt against them."""
        if row_ids:
            self._session.execute(
                update(OutboxMessageRow).where(OutboxMessageRow.id.in_(list(row_ids)))
                .values(next_attempt_at=until, last_error=reason[-MAX_ERROR:], claimed_until=None))

    def _change(self, row_id: int, **values: object) -> None:
        result = self._session.execute(
            update(OutboxMessageRow).where(OutboxMessageRow.id == row_id).values(**values))
        if result.rowcount != 1:
            raise PermanentError(f"no outbox row with id {row_id}")

    @translated
    def release_held(self, case_reference: str) -> int:
        """Lets the held mail of a case go; returns how many messages were released."""
        result = self._session.execute(
            update(OutboxMessageRow)
            .where(OutboxMessageRow.case_reference == case_reference,
                   OutboxMessageRow.status == HELD)
            .values(status=QUEUED))
        return int(result.rowcount or 0)

    @translated
    def held_recipients(self, case_reference: str) -> list[str]:
        return sorted(set(self._session.scalars(
            select(OutboxMessageRow.recipient)
            .where(OutboxMessageRow.case_reference == case_reference,
                   OutboxMessageRow.status == HELD))))

    @translated
    def data_of(self, message_ids: Sequence[str]) -> list[bytes]:
        """The messages we issued under these Message-IDs, as queued (unknown ones left out)."""
        wanted = sorted({_bare(m) for m in message_ids if _bare(m)})[:_LOOKUP_CHUNK]
        if not wanted:
            return []
        return list(self._session.scalars(
            select(OutboxMessageRow.data).where(OutboxMessageRow.message_id.in_(wanted))))

    @translated
    def lookup(self, message_ids: Sequence[str]) -> list[SentMessage]:
        """What we issued under these Message-IDs (angle brackets optional); unknown ones
        are left out."""
        wanted = sorted({_bare(m) for m in message_ids if _bare(m)})
        found: list[SentMessage] = []
        for start in range(0, len(wanted), _LOOKUP_CHUNK):
            chunk = wanted[start:start + _LOOKUP_CHUNK]
            rows = self._session.execute(
                select(OutboxMessageRow.message_id, OutboxMessageRow.case_reference,
                       OutboxMessageRow.recipient, OutboxMessageRow.template,
                       OutboxMessageRow.envelope_from)
                .where(OutboxMessageRow.message_id.in_(chunk)))
            found += [SentMessage(m, ref or None, to, template, sender)
                      for m, ref, to, template, sender in rows]
        return found

    @translated
    def answers_since(self, recipient: str, since: datetime, templates: Sequence[str]) -> int:
        """Answers of these templates to ``recipient`` sent since ``since``, plus those still
        queued, so a burst of auto-replies in one intake pass is limited before any is sent."""
        return int(self._session.scalar(
            select(func.count()).select_from(OutboxMessageRow).where(
                OutboxMessageRow.recipient == recipient,
                OutboxMessageRow.template.in_([str(template) for template in templates]),
                or_(OutboxMessageRow.status == QUEUED, OutboxMessageRow.sent_at >= since))) or 0)

    @translated
    def get(self, row_id: int) -> OutboxRow | None:
        row = self._session.get(OutboxMessageRow, row_id)
        return None if row is None else _outbox_row(row)


def _unclaimed(at: datetime, column=OutboxMessageRow.claimed_until):
    return or_(column.is_(None), column <= at)


def _bare(message_id: str) -> str:
    return message_id.strip().strip("<>").strip()


def _outbox_row(row: OutboxMessageRow) -> OutboxRow:
    item = OutboxItem(case_reference=row.case_reference or None, template=row.template,
                      stage=row.stage or None, key=row.key, recipient=row.recipient,
                      message_id=row.message_id, envelope_from=row.envelope_from, data=row.data)
    return OutboxRow(row.id, item, row.attempts, OutboxStatus(row.status), row.last_error,
                     interrupted=row.claimed_until is not None)


@functools.cache
def _enqueue_statement(dialect: str):
    """The INSERT of ``enqueue``, built once per dialect and given each row's values when it
    runs: building and keying a new statement for every message was most of queueing one."""
    table = OutboxMessageRow.__table__
    insert = postgresql.insert(table) if dialect == "postgresql" else sqlite.insert(table)
    # What every new row starts with is written into the statement: psycopg parses again,
    # rather than caching, a statement with more than 50 parameters, which four rows of
    # fourteen made it.
    insert = insert.values(attempts=literal_column("0"), last_error=literal_column("''"),
                           sent_at=null())
    # Only the natural key counts as "already queued"; a clashing Message-ID is a bug and must
    # fail loudly rather than silently drop a message.
    return insert.on_conflict_do_nothing(index_elements=[
        table.c.case_reference, table.c.template, table.c.stage, table.c.key, table.c.recipient,
    ]).returning(table.c.message_id)
