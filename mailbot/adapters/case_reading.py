"""Reading cases for people to look at: the case list and one case with its history, in plain
SQL over any ``Execute`` (a SQLAlchemy session or connection, or the standard library's
sqlite3). No SQLAlchemy here: `mailbot cases` and `cases show` read SQLite without importing
it, which was most of the time they took to answer (issue 18).

The store's ``SqlCaseRepository.summaries`` runs the same statement through its session, so
the list has one implementation. ``SqlCaseRepository.get`` stays the worker's: it locks the
row and keeps it to write back, which a look must not do.

Values come back as the driver gives them, decoded as the store's column types would: a
time stored by SQLite as text ('2026-11-30 17:00:00.000000', UTC) or given by psycopg as an
aware datetime becomes an aware UTC datetime; JSON stored as text (SQLite) is parsed.
"""

from __future__ import annotations

import functools
import json
import typing
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

from mailbot.adapters.case_values import case_columns, case_from_rows
from mailbot.adapters.schema_revision import Execute
from mailbot.domain.case import Case, CaseStatus

if TYPE_CHECKING:  # imported where used: `cases show` needs none of the port's records
    from mailbot.services.stored import CaseSummary

_SUMMARIES = "SELECT reference, policy_key, stage, status, deadline FROM cases"
_SUMMARIES_ORDER = " ORDER BY opened_at, reference"
_EVENTS = ("SELECT at, kind, actor, text, stage, source_message_id FROM case_events"
           " WHERE case_id = :case_id ORDER BY seq")
_JSON = ("referral", "parties")


class CaseReader:
    """The read-only part of the case repository: lists and shows, never locks or writes."""

    def __init__(self, execute: Execute):
        self._execute = execute

    def summaries(self, status: str | None = None) -> list[CaseSummary]:
        from mailbot.services.stored import CaseSummary

        query, parameters = _SUMMARIES, {}
        if status is not None:
            query, parameters = query + " WHERE status = :status", {"status": status}
        return [CaseSummary(reference, key, stage, CaseStatus(state), utc(deadline))
                for reference, key, stage, state, deadline
                in self._execute(query + _SUMMARIES_ORDER, parameters)]

    def get(self, reference: str) -> Case | None:
        """The case as stored (references match whatever their case, as in the store)."""
        columns = ("id", "status", *_JSON, *case_columns())
        rows = self._execute(f"SELECT {', '.join(columns)} FROM cases WHERE reference = :reference",
                             {"reference": reference.strip().upper()})
        if not rows:
            return None
        row = {name: _decoded(name, value) for name, value in zip(columns, rows[0], strict=True)}
        events = [SimpleNamespace(at=utc(at), kind=kind, actor=actor, text=text, stage=stage,
                                  source_message_id=message_id)
                  for at, kind, actor, text, stage, message_id
                  in self._execute(_EVENTS, {"case_id": row["id"]})]
        return case_from_rows(SimpleNamespace(**row), events)


class ReadingUnitOfWork:
    """``with ReadingUnitOfWork(connect) as uow: uow.cases.summaries()``: the looking
    commands' unit of work, on whatever connection ``connect`` opens (and closes after)."""

    cases: CaseReader

    def __init__(self, connect: Callable[[], AbstractContextManager[Execute]]):
        self._connect = connect
        self._connection: AbstractContextManager[Execute] | None = None

    def __enter__(self) -> ReadingUnitOfWork:
        self._connection = self._connect()
        self.cases = CaseReader(self._connection.__enter__())
        return self

    def __exit__(self, *exc: Any) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            connection.__exit__(*exc)


def utc(value: Any) -> datetime | None:
    """A stored time as an aware UTC datetime (SQLite keeps UTC wall time as text)."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _decoded(column: str, value: Any) -> Any:
    if column in _JSON:
        return json.loads(value) if isinstance(value, str | bytes) else value
    return utc(value) if column in _times() else value


@functools.cache
def _times() -> frozenset[str]:
    """The ``Case`` fields that hold a time, by their declared type."""
    return frozenset(name for name, hint in typing.get_type_hints(Case).items()
                     if hint in (datetime, datetime | None))
