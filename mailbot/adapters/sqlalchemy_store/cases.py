"""The case repository: cases in, cases out, history only ever appended, references counted.

A unit of work tracks every case it added or loaded; on ``save``, at the end of a savepoint
and on commit it writes the case's columns and INSERTs the events beyond those already stored.
A case added is INSERTed then too, with the others added since, in one statement: so a
chunk of referrals opens all its cases in two statements (cases, then events), not two a
case. It never updates or deletes an event, and refuses to commit a case whose stored
history was altered.

Cases are written with Core statements built once, not through the ORM's unit of work: the
repository keeps what it last wrote of each case and UPDATEs only the columns that changed,
and the new events go in one INSERT. A flush of the session per case written had been most
of the deadline pass's and of acting's database time (issues 18 and 19).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Select,
    bindparam,
    insert,
    select,
    text,
    update,
)
from sqlalchemy import case as sql_case
from sqlalchemy.orm import Session

from mailbot.adapters.case_reading import CaseReader
from mailbot.adapters.sqlalchemy_store.case_rows import (
    case_from_rows,
    comparable,
    event_values,
    sql_values,
)
from mailbot.adapters.sqlalchemy_store.orm import (
    OPEN_CASES,
    CaseEventRow,
    CaseRow,
    ReferenceCounterRow,
)
from mailbot.adapters.sqlalchemy_store.references import CounterMark, ReferenceCounter
from mailbot.adapters.sqlalchemy_store.sql import statements, translated, upsert
from mailbot.domain.case import Case, Event
from mailbot.domain.errors import PermanentError
from mailbot.services.stored import CaseSummary

_CHUNK = 500  # references in one IN (...) list


_CASES, _EVENTS = CaseRow.__table__, CaseEventRow.__table__
# Built once: building and keying a statement per case cost more than running it.
# Many rows at once, their ids in the order given (SQLAlchemy's "insertmanyvalues").
_INSERT_CASES = insert(_CASES).returning(_CASES.c.id, sort_by_parameter_order=True)
_UPDATE_CASE = update(_CASES).where(_CASES.c.id == bindparam("b_case_id"))  # SET: the values given
_INSERT_EVENTS = insert(_EVENTS)
# They run on the session's connection: ``Session.execute`` first looks for ORM work to do
# (entities, autoflush, its own events), about 20 us a statement that a statement on a table
# never needs; acting on a referral runs eight of them. The repositories hold no ORM objects
# waiting to be flushed (``records`` flushes what it adds at once).


@dataclass
class _Tracked:
    case: Case
    case_id: int | None  # None: added, not yet INSERTed
    stored: tuple[Event, ...] = field(default=())  # the history as the database holds it
    columns: dict[str, Any] = field(default_factory=dict)  # ``comparable``, as last written


# Where a savepoint began: cases tracked, events written, references issued, the counters.
_Mark = tuple[frozenset[str], int, int, CounterMark]


class SqlCaseRepository:
    def __init__(self, session: Session):
        self._session = session
        self._tracked: dict[str, _Tracked] = {}
        self._touched: set[str] = set()  # handed out since the last ``mark``
        self.written: list[tuple[str, Event]] = []  # for the unit of work's log, once committed
        self.issued: list[str] = []  # references given out, for the marker once committed
        self._counter = ReferenceCounter(session)

    @translated
    def add(self, case: Case) -> None:
        """Tracks a new case, INSERTed when it is next written: a reference already stored is
        refused then (at the end of the savepoint it was added in, or at commit)."""
        if case.reference in self._tracked:
            raise PermanentError(f"case {case.reference} is already in this unit of work")
        self._tracked[case.reference] = _Tracked(case, None)
        self._touched.add(case.reference)

    @translated
    def get(self, reference: str) -> Case | None:
        """The case, with its row locked until commit (FOR UPDATE; SQLite's lock is the
        whole database, already held since BEGIN IMMEDIATE). References match whatever
        their case (contract section 2): they are stored in capitals."""
        reference = reference.strip().upper()
        if reference not in self._tracked:
            self.get_many([reference])
        tracked = self._tracked.get(reference)
        if tracked is None:
            return None
        self._touched.add(reference)
        return tracked.case

    @translated
    def get_many(self, references: Sequence[str]) -> None:
        """Loads (and locks) these cases in two statements, for ``get`` to hand out: the
        deadline pass reads its due cases this way rather than two queries a case."""
        wanted = {r.strip().upper() for r in references} - self._tracked.keys()
        for start in range(0, len(wanted), _CHUNK):
            chunk = sorted(wanted)[start:start + _CHUNK]
            query = select(_CASES).where(_CASES.c.reference.in_(chunk)).with_for_update()
            rows = {row.id: row for row in self._session.execute(query)}
            events: dict[int, list[Any]] = {case_id: [] for case_id in rows}
            for event in self._session.execute(
                    select(_EVENTS).where(_EVENTS.c.case_id.in_(list(rows)))
                    .order_by(_EVENTS.c.case_id, _EVENTS.c.seq)):
                events[event.case_id].append(event)
            for case_id, row in rows.items():
                case = case_from_rows(row, events[case_id])
                self._tracked[row.reference] = _Tracked(case, case_id, tuple(case.history),
                                                        comparable(case))

    def mark(self) -> _Mark:
        """Where a savepoint begins: the cases tracked, the events written and the references
        issued, so far, and the numbers taken from the counters and not yet given out."""
        self._touched = set()
        return frozenset(self._tracked), len(self.written), len(self.issued), self._counter.mark()

    def undo_to(self, mark: _Mark) -> None:
        """After a savepoint's rollback: forget every case handed out or added since ``mark``
        (its changes in memory were undone in the database), so commit never writes them, and
        every reference issued since (its counter went back too), so the marker never
        counts one the database does not know."""
        tracked, written, issued, counted = mark
        for reference in self._touched | (self._tracked.keys() - tracked):
            self._tracked.pop(reference, None)
        del self.written[written:]
        del self.issued[issued:]
        self._counter.undo_to(counted)
        self._touched = set()

    @translated
    def save(self, case: Case) -> None:
        """Writes the case's changes now; commit writes them too, so this is optional."""
        tracked = self._tracked.get(case.reference)
        if tracked is None or tracked.case is not case:
            raise PermanentError(
                f"case {case.reference} was not added or loaded by this unit of work")
        self._write([tracked])

    @translated
    def write_all(self) -> None:
        """Called by the unit of work just before it commits."""
        self._write(list(self._tracked.values()))
        self._counter.give_back()

    @translated
    def write_touched(self) -> None:
        """Writes the cases handed out or added since the last ``mark``."""
        self._write([self._tracked[r] for r in sorted(self._touched) if r in self._tracked])

    def _write(self, cases: list[_Tracked]) -> None:
        """Writes these cases' changes: one UPDATE (run for many) per set of columns changed
        and one INSERT of all their new events, not two statements a case: per case, those
        had been half the deadline pass's database time (issue 19)."""
        now = [(tracked, comparable(tracked.case)) for tracked in cases]
        self._insert([(tracked, columns) for tracked, columns in now if tracked.case_id is None])
        updates: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        events: list[dict[str, Any]] = []
        done = [(tracked, columns, self._changes(tracked, columns, updates, events))
                for tracked, columns in now]
        for rows in updates.values():
            self._session.connection().execute(_UPDATE_CASE, rows)
        if events:
            self._session.connection().execute(_INSERT_EVENTS, events)
        for tracked, columns, new_events in done:
            tracked.columns, tracked.stored = columns, tuple(tracked.case.history)
            self.written.extend((tracked.case.reference, event) for event in new_events)

    def _insert(self, new: list[tuple[_Tracked, dict[str, Any]]]) -> None:
        """INSERTs the cases added and not yet written (with their columns now), in one
        statement, and learns their ids; ``_changes`` then finds their columns unchanged and
        writes their events."""
        if not new:
            return
        ids = self._session.connection().execute(
            _INSERT_CASES, [sql_values(columns) for _, columns in new]).scalars().all()
        for (tracked, columns), case_id in zip(new, ids, strict=True):
            tracked.case_id, tracked.columns = case_id, columns

    @staticmethod
    def _changes(tracked: _Tracked, columns: dict[str, Any],
                 updates: dict[tuple[str, ...], list[dict[str, Any]]],
                 events: list[dict[str, Any]]) -> list[Event]:
        """Adds the case's changed columns (``columns``: ``comparable`` of it now) to
        ``updates``, by which columns changed, and its new events to ``events``; returns
        those events."""
        case, stored = tracked.case, tracked.stored
        if tuple(case.history[:len(stored)]) != stored:
            raise PermanentError(f"the history of {case.reference} is append-only, but events"
                                 " already recorded were changed or removed")
        changed = {name: value for name, value in columns.items()
                   if tracked.columns.get(name) != value}
        if changed:
            updates.setdefault(tuple(changed), []).append(
                {"b_case_id": tracked.case_id, **sql_values(changed)})
        new_events = case.history[len(stored):]
        events.extend(event_values(tracked.case_id, seq, event)
                      for seq, event in enumerate(new_events, start=len(stored) + 1))
        return new_events

    @translated
    def next_reference(self, prefix: str, year: int) -> str:
        """``PREFIX-YYYY-NNNN``, the next number of the series (``references``)."""
        reference = self._counter.next(prefix, year)
        self.issued.append(reference)
        return reference

    @translated
    def reference_counters(self) -> dict[str, int]:
        """The last number given out in each series, ``{"BSCP-2026": 42}``."""
        rows = self._session.execute(select(ReferenceCounterRow.prefix, ReferenceCounterRow.year,
                                            ReferenceCounterRow.last_number))
        return {f"{prefix}-{year:04d}": number for prefix, year, number in rows}

    @translated
    def raise_counters(self, at_least: dict[str, int]) -> None:
        """Counters below these numbers are raised to them: references issued from a database
        since lost are never given out again."""
        self._counter.give_back()  # numbers this transaction took and holds go back first
        table = ReferenceCounterRow.__table__
        for series, number in at_least.items():
            prefix, _, year = series.rpartition("-")
            statement = upsert(self._session, table).values(prefix=prefix, year=int(year),
                                                            last_number=number)
            self._session.execute(statement.on_conflict_do_update(
                index_elements=[table.c.prefix, table.c.year],
                set_={"last_number": sql_case((table.c.last_number < number, number),
                                          else_=table.c.last_number)}))

    @translated
    def summaries(self, status: str | None = None) -> list[CaseSummary]:
        """The case list, by the one statement `mailbot cases` also runs (``case_reading``)."""
        return CaseReader(statements(self._session)).summaries(status)

    @translated
    def due_for_chasing(self, now: datetime, limit: int = 500) -> list[str]:
        """Open cases whose next chase point has come, earliest first (index ix_cases_due)."""
        return list(self._session.scalars(due_for_chasing_query(now, limit)))


def due_for_chasing_query(now: datetime, limit: int = 500) -> Select[tuple[str]]:
    # The status test is literal SQL, the very text of the partial index's WHERE: a bound
    # parameter would do for SQLite (it re-plans with bound values), but psycopg prepares a
    # statement after a few runs and PostgreSQL's generic plan cannot then prove that the
    # parameter equals 'open', so it would fall back to a scan.
    return (select(CaseRow.reference)
            .where(text(OPEN_CASES), CaseRow.next_chase_at <= now)
            .order_by(CaseRow.next_chase_at)
            .limit(limit))
