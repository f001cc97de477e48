"""The SQLAlchemy unit of work: one session, one transaction, every repository on it.

``with SqlAlchemyUnitOfWork(factory) as uow:`` opens the transaction (on SQLite it takes the
write lock at once); ``uow.commit()`` writes the tracked cases and commits everything the
use case did; leaving the block rolls back whatever was not committed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, SessionTransaction

from mailbot.adapters.sqlalchemy_store.cases import SqlCaseRepository
from mailbot.adapters.sqlalchemy_store.inbound import SqlInboundLog
from mailbot.adapters.sqlalchemy_store.leases import SqlLeases
from mailbot.adapters.sqlalchemy_store.orm import StateRow
from mailbot.adapters.sqlalchemy_store.outbox import SqlOutbox
from mailbot.adapters.sqlalchemy_store.records import SqlCaseRecords
from mailbot.adapters.sqlalchemy_store.sql import translated, upsert
from mailbot.adapters.sqlalchemy_store.upkeep import SqlUpkeep
from mailbot.adapters.sqlalchemy_store.vouching import SqlCommandLog, SqlKnownAddresses
from mailbot.services.stored import MailWaiting

log = logging.getLogger(__name__)


def utc_now() -> datetime:
    return datetime.now(UTC)


class SqlStateStore:
    """Small named values the worker keeps across restarts."""

    def __init__(self, session: Session):
        self._session = session

    @translated
    def get(self, key: str) -> str | None:
        return self._session.scalar(select(StateRow.value).where(StateRow.key == key))

    @translated
    def set(self, key: str, value: str) -> None:
        table = StateRow.__table__
        statement = upsert(self._session, table).values(key=key, value=value)
        self._session.execute(statement.on_conflict_do_update(
            index_elements=[table.c.key], set_={"value": value}))

    @translated
    def setdefault(self, key: str, value: str) -> str:
        """The value kept under ``key``, which is ``value`` if there was none. Two workers
        starting at once both get the first one's: the second insert waits for the first
        transaction and then does nothing, and the read after it sees the committed row."""
        table = StateRow.__table__
        self._session.execute(upsert(self._session, table).values(key=key, value=value)
                              .on_conflict_do_nothing())
        return str(self.get(key))


class SqlAlchemyUnitOfWork:
    """``clock`` only stamps when rows were written (received_at, created_at)."""

    cases: SqlCaseRepository
    inbound: SqlInboundLog
    outbox: SqlOutbox
    state: SqlStateStore
    commands: SqlCommandLog
    known: SqlKnownAddresses
    leases: SqlLeases
    records: SqlCaseRecords
    upkeep: SqlUpkeep
    mail_waiting: MailWaiting | None

    def __init__(self, session_factory: Callable[[], Session],
                 clock: Callable[[], datetime] = utc_now,
                 on_issued: Callable[[list[str]], None] | None = None):
        self._session_factory, self._clock = session_factory, clock
        self._on_issued = on_issued  # told the references each commit issued (the marker)
        self._session: Session | None = None

    def __enter__(self) -> SqlAlchemyUnitOfWork:
        if self._session is not None:
            raise RuntimeError("this unit of work is already in use; make a new one")
        self._session = session = self._session_factory()
        self.cases = SqlCaseRepository(session)
        self.inbound = SqlInboundLog(session, self._clock)
        self.outbox = SqlOutbox(session, self._clock)
        self.state = SqlStateStore(session)
        self.commands = SqlCommandLog(session)
        self.known = SqlKnownAddresses(session)
        self.leases = SqlLeases(session)
        self.records = SqlCaseRecords(session)
        self.upkeep = SqlUpkeep(session)
        self.mail_waiting = None
        return self

    def __exit__(self, *exc: object) -> None:
        session, self._session = self._session, None
        if session is not None:
            try:
                session.rollback()
            finally:
                session.close()

    @property
    def session(self) -> Session:
        if self._session is None:
            raise RuntimeError("use the unit of work inside a with block")
        return self._session

    def commit(self) -> None:
        self.cases.write_all()
        self._commit()
        # One line per case change, once it is durable: the reference, what happened, at which
        # stage and by whom; never the event's text, which may name the child.
        for reference, event in self.cases.written:
            log.info("case %s: %s at stage %d by %s", reference, event.kind.value, event.stage,
                     event.actor)
        self.cases.written.clear()
        if self.cases.issued and self._on_issued is not None:
            self._on_issued(list(self.cases.issued))
        self.cases.issued.clear()

    @contextmanager
    def savepoint(self) -> Iterator[None]:
        """A part of the transaction that may fail on its own: on an error, what it did is
        undone (its rows, and the cases it loaded or changed are forgotten) and the error goes
        on, while what came before it stands. Case changes are written before it ends, so a
        refused write fails here too. Mail waiting (``mail_waiting``) must be stored before it
        begins, so that what it composes can be told apart and dropped with it."""
        if self.mail_waiting:
            raise RuntimeError("store the mail waiting before a savepoint begins")
        nested = self._begin_nested()
        mark = self.cases.mark()
        try:
            yield
            self.cases.write_touched()
            self._release(nested)
        except BaseException:
            try:
                if nested.is_active:
                    nested.rollback()
            finally:
                self.cases.undo_to(mark)
                if self.mail_waiting:
                    self.mail_waiting.take()
            raise

    @translated
    def _begin_nested(self) -> SessionTransaction:
        return self.session.begin_nested()

    @translated
    def _release(self, nested: SessionTransaction) -> None:
        nested.commit()

    @translated
    def _commit(self) -> None:
        self.session.commit()

    def rollback(self) -> None:
        self.session.rollback()
        # What the case repository tracked as stored may have just been undone.
        self.cases = SqlCaseRepository(self.session)
