"""The inbound log: every raw message is stored here before anything acts on it.

A message is the same message if, in the same mailbox, its bytes hash the same or it sits
at the same UIDVALIDITY and UID; either unique constraint makes ``record`` return None, so a
replay after a crash, a restart or a UIDVALIDITY change is recognised and not acted on twice.
The insert and the check are one statement (ON CONFLICT DO NOTHING), so two workers racing
over the same message cannot both win.

Acting on a stored message starts with ``claim_many`` in the same transaction that marks it done:
on PostgreSQL a row lock taken with SKIP LOCKED (a worker already acting on it is passed by,
and one that died lets go with its connection); on SQLite the transaction holds the database's
write lock from BEGIN IMMEDIATE, so re-reading the status is enough. Either way two pollers or
workers never act on one message twice.
"""

from __future__ import annotations

import functools
import hashlib
import zlib
from collections.abc import Callable, Sequence
from datetime import datetime

from sqlalchemy import bindparam, func, literal_column, null, or_, select, update
from sqlalchemy import case as sql_case
from sqlalchemy.orm import Session

from mailbot.adapters.sqlalchemy_store.orm import MESSAGE_ID, InboundMessageRow
from mailbot.adapters.sqlalchemy_store.pipelined import insert_many
from mailbot.adapters.sqlalchemy_store.sql import translated, upsert, upsert_for
from mailbot.domain.errors import PermanentError
from mailbot.services.stored import InboundMark, InboundRecord, InboundStatus

RECEIVED = InboundStatus.RECEIVED.value
# Built once: a new statement per message cost more than running it. On the table, not the
# ORM class: the ORM's UPDATE first works out which loaded objects it changes, which cost
# more than the UPDATE itself.
_TABLE = InboundMessageRow.__table__
_MARK = (update(_TABLE).where(_TABLE.c.id == bindparam("record_id"))
         .values(status=bindparam("status"), case_reference=bindparam("case_reference"),
                 error=bindparam("error")))
# A claim reads the bytes too: a second statement per message for them was worth saving. A
# few messages are claimed in one statement (``claim_many``), each with its bytes unless they
# are large, so a claim holds a bounded amount of mail however big the messages are.
_CARRIED_BYTES = 256 * 1024  # stored (compressed) size past which a message's bytes wait for ``raw``
_CLAIM = (select(InboundMessageRow.id,
                 sql_case((func.length(InboundMessageRow.raw) <= _CARRIED_BYTES,
                           InboundMessageRow.raw), else_=null()).label("raw"))
          .where(InboundMessageRow.id.in_(bindparam("record_ids", expanding=True)),
                 InboundMessageRow.status == RECEIVED))
_CLAIM_LOCKED = _CLAIM.with_for_update(skip_locked=True)
MAX_ERROR = 4000  # a traceback's last words are enough; the raw message is kept anyway
# zlib's fastest level: a bare referral costs the same at any level (setting up the stream is
# most of it), and a referral carrying a .docx is mostly base64 of deflated data, which level 6
# shrinks 2% more than level 1 in 15% more time. Any level reads back with zlib.decompress.
RAW_LEVEL = 1


class SqlInboundLog:
    def __init__(self, session: Session, clock: Callable[[], datetime]):
        self._session, self._clock = session, clock
        # The last claim's bytes, each handed out once by ``raw`` (None: too large to carry).
        self._claimed: dict[int, bytes | None] = {}

    @translated
    def record(self, mailbox: str, uidvalidity: int, uid: str, message_id: str,
               data: bytes) -> InboundRecord | None:
        """The new record, or None if this mailbox saw this message (by hash or UID) before."""
        table = InboundMessageRow.__table__
        digest = hashlib.sha256(data).hexdigest()
        statement = upsert(self._session, table).values(
            mailbox=mailbox, uidvalidity=uidvalidity, uid=uid, message_id=message_id[:MESSAGE_ID],
            sha256=digest, raw=zlib.compress(data, RAW_LEVEL), status=RECEIVED, case_reference=None,
            error="", received_at=self._clock(),
        ).on_conflict_do_nothing().returning(table.c.id)
        new_id = self._session.execute(statement).scalar_one_or_none()
        if new_id is None:
            return None
        return InboundRecord(new_id, mailbox, uidvalidity, uid, message_id[:MESSAGE_ID], digest,
                             InboundStatus.RECEIVED)

    @translated
    def record_many(self, messages: Sequence[tuple[str, int, str, str, bytes]]) -> int:
        """``record`` for a batch of (mailbox, uidvalidity, uid, message_id, data), in one
        executemany; returns how many were new."""
        if not messages:
            return 0
        received_at = self._clock()
        rows = [{"mailbox": mailbox, "uidvalidity": uidvalidity, "uid": uid,
                 "message_id": message_id[:MESSAGE_ID], "sha256": hashlib.sha256(data).hexdigest(),
                 "raw": zlib.compress(data, RAW_LEVEL), "received_at": received_at}
                for mailbox, uidvalidity, uid, message_id, data in messages]
        statement = _record_many_statement(self._session.get_bind().dialect.name)
        return insert_many(self._session, statement, rows)

    @translated
    def find(self, mailbox: str, uidvalidity: int, uid: str,
             data: bytes) -> InboundRecord | None:
        """The stored record of this message in this mailbox, matched by its bytes or its place."""
        digest = hashlib.sha256(data).hexdigest()
        row = self._session.scalars(
            select(InboundMessageRow).where(
                InboundMessageRow.mailbox == mailbox,
                or_(InboundMessageRow.sha256 == digest,
                    (InboundMessageRow.uidvalidity == uidvalidity)
                    & (InboundMessageRow.uid == uid)),
            ).order_by(InboundMessageRow.id).limit(1)
        ).one_or_none()
        return None if row is None else _record(row)

    @translated
    def pending(self, mailbox: str, limit: int = 200) -> list[InboundRecord]:
        """Messages of ``mailbox`` stored but not yet acted on, oldest first."""
        # Without the raw column: a batch of referrals with forms held tens of MB of it
        # while acting, which reads each message's bytes on its own (``raw``).
        t = InboundMessageRow
        rows = self._session.execute(
            select(t.id, t.mailbox, t.uidvalidity, t.uid, t.message_id, t.sha256, t.status,
                   t.case_reference)
            .where(t.mailbox == mailbox, t.status == RECEIVED).order_by(t.id).limit(limit))
        return [InboundRecord(*row) for row in rows]

    @translated
    def claim_many(self, record_ids: Sequence[int]) -> set[int]:
        """Takes stored messages to act on, until this transaction ends, in one statement:
        the ids of those taken. A message is passed by when it was acted on already or
        another worker's transaction is acting on it now. The messages' bytes come with the
        claim (unless large) and are kept for the ``raw`` that follows each; a claim drops
        what the claim before it carried."""
        postgres = self._session.get_bind().dialect.name == "postgresql"
        rows = self._session.connection().execute(_CLAIM_LOCKED if postgres else _CLAIM,
                                                  {"record_ids": list(record_ids)})
        self._claimed = {row.id: row.raw for row in rows}
        return set(self._claimed)

    @translated
    def mark(self, record_id: int, status: InboundStatus, case_reference: str | None = None,
             error: str = "") -> None:
        # On the session's connection, as the claim: no ORM work to look for (``cases``).
        result = self._session.connection().execute(
            _MARK, _mark_values((record_id, status, case_reference, error)))
        if result.rowcount != 1:
            raise PermanentError(f"no inbound message with id {record_id}")

    @translated
    def mark_many(self, marks: Sequence[InboundMark]) -> None:
        """``mark`` for each (record_id, status, case_reference, error), in one executemany."""
        if not marks:
            return
        result = self._session.connection().execute(_MARK, [_mark_values(m) for m in marks])
        if self._session.get_bind().dialect.supports_sane_multi_rowcount and (
                result.rowcount != len(marks)):
            raise PermanentError(f"no inbound message with one of the ids {[m[0] for m in marks]}")

    @translated
    def raw(self, record_id: int) -> bytes:
        data = self._claimed.pop(record_id, None)
        if data is None:
            data = self._session.scalar(
                select(InboundMessageRow.raw).where(InboundMessageRow.id == record_id))
        if data is None:
            raise PermanentError(f"no inbound message with id {record_id}")
        return zlib.decompress(data)

    @translated
    def get(self, record_id: int) -> InboundRecord | None:
        row = self._session.get(InboundMessageRow, record_id)
        return None if row is None else _record(row)


@functools.cache
def _record_many_statement(dialect: str):
    """The INSERT of ``record_many``, built once per dialect.

    What every new row starts with (received, no case, no error) is written into the
    statement rather than bound per row: SQLAlchemy builds and processes each row's parameters
    one by one, and three fewer cut storing a batch of bare referrals by a few microseconds a
    message (issue 19). The driver's executemany, counted by its rowcount: RETURNING the new
    ids made SQLAlchemy write out one long multi-row INSERT per page of rows, which cost 3.5
    times as much on PostgreSQL (20% more on SQLite) for a number nothing else reads.
    """
    insert = upsert_for(dialect, _TABLE).values(
        status=literal_column(f"'{RECEIVED}'"), case_reference=null(), error=literal_column("''"))
    return insert.on_conflict_do_nothing()


def _record(row: InboundMessageRow) -> InboundRecord:
    return InboundRecord(row.id, row.mailbox, row.uidvalidity, row.uid, row.message_id,
                         row.sha256, InboundStatus(row.status), row.case_reference)


def _mark_values(mark: InboundMark) -> dict[str, object]:
    record_id, status, case_reference, error = mark
    return dict(record_id=record_id, status=InboundStatus(status).value,
                case_reference=case_reference, error=error[-MAX_ERROR:])
