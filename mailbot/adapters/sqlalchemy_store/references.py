"""Case references, ``PREFIX-YYYY-NNNN``: numbers taken from a counter row per series.

Bumping the counter locks its row until commit, so concurrent writers queue and each gets its
own numbers. A transaction that opens many cases (a chunk of referrals) takes its numbers a
few at a time, twice as many each time (1, 2, 4 ... 16), rather than one statement a case:
that statement had been a round trip a referral on PostgreSQL, and 0.2 ms of this process's
CPU (issue 18). Numbers taken and not given out go back to the counter just before the commit,
while its row is still locked, so references stay gapless; a transaction that opens one
case runs the one statement it always did.

A number a stored case already has is skipped, even if the counter was somehow lost.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import (
    Integer,
    Text,
    bindparam,
    cast,
    exists,
    func,
    literal_column,
    select,
    update,
)
from sqlalchemy.orm import Session

from mailbot.adapters.sqlalchemy_store.orm import CaseRow, ReferenceCounterRow
from mailbot.adapters.sqlalchemy_store.sql import upsert_for

MOST_TAKEN = 16  # numbers taken at once, at most: a chunk of 50 referrals takes them in 7 goes
_COUNTERS, _CASES = ReferenceCounterRow.__table__, CaseRow.__table__
_REFERENCES = _CASES.c.reference.in_(bindparam("references", expanding=True))
_STORED = select(_CASES.c.reference).where(_REFERENCES)
_GIVE_BACK = (update(_COUNTERS)
              .where(_COUNTERS.c.prefix == bindparam("b_prefix"),
                     _COUNTERS.c.year == bindparam("b_year"),
                     # Only if the counter is as this transaction left it (raise_counters may
                     # have raised it since).
                     _COUNTERS.c.last_number == bindparam("b_top"))
              .values(last_number=bindparam("b_back")))

Series = tuple[str, int]  # prefix, year


@dataclass
class _Taken:
    """Numbers of one series this transaction took from the counter."""

    top: int  # the counter as this transaction last set it
    size: int  # how many the last bump took
    free: list[int] = field(default_factory=list)  # not yet given out, ascending


CounterMark = dict[Series, "_Taken"]


class ReferenceCounter:
    def __init__(self, session: Session):
        self._session = session
        self._taken: dict[Series, _Taken] = {}

    def next(self, prefix: str, year: int) -> str:
        series = (prefix, year)
        taken = self._taken.get(series)
        while taken is None or not taken.free:
            taken = self._taken[series] = self._bump(prefix, year)
        return _reference(prefix, year, taken.free.pop(0))

    def _bump(self, prefix: str, year: int) -> _Taken:
        """Takes more numbers of the series: one at first, then twice as many as the last time."""
        connection = self._session.connection()
        last = self._taken.get((prefix, year))
        if last is None:  # the counter is not yet known: one number, looked up as it is taken
            top, stored = connection.execute(
                _bump_statement(connection.dialect.name),
                {"prefix": prefix, "year": year, "stem": f"{prefix}-{year:04d}-", "size": 1},
            ).one()
            return _Taken(top, 1, [] if stored else [top])
        # The counter's row is this transaction's since the first bump, so the numbers the
        # next takes are known, and whether a stored case has one is asked in the same statement.
        size = min(2 * last.size, MOST_TAKEN)
        numbers = range(last.top + 1, last.top + size + 1)
        references = {_reference(prefix, year, n): n for n in numbers}
        top, any_stored = connection.execute(
            _bump_block_statement(connection.dialect.name),
            {"prefix": prefix, "year": year, "size": size, "references": list(references)},
        ).one()
        if top != numbers[-1]:
            raise RuntimeError(f"the counter of {prefix}-{year} moved under its row lock")
        stored = set()
        if any_stored:  # only where the counter was lost or lowered: rare
            stored = {references[r] for r in connection.execute(
                _STORED, {"references": list(references)}).scalars()}
        return _Taken(top, size, [n for n in numbers if n not in stored])

    def mark(self) -> CounterMark:
        """Where a savepoint begins: what was taken and is still free."""
        return {series: replace(taken, free=list(taken.free))
                for series, taken in self._taken.items()}

    def undo_to(self, mark: CounterMark) -> None:
        """After a savepoint's rollback, which put the counters back as they were at ``mark``."""
        self._taken = mark

    def give_back(self) -> None:
        """Just before the commit: numbers taken and not given out go back to their counters."""
        back = [{"b_prefix": prefix, "b_year": year, "b_top": taken.top,
                 "b_back": taken.free[0] - 1}
                for (prefix, year), taken in self._taken.items() if taken.free]
        if back:
            self._session.connection().execute(_GIVE_BACK, back)
        self._taken = {}


def _reference(prefix: str, year: int, number: int) -> str:
    return f"{prefix}-{year:04d}-{number:04d}"


def _upsert(dialect: str, returning: Any) -> Any:
    """The counter raised by ``size`` (made at ``size`` if new), returning its new value and
    ``returning``."""
    size = bindparam("size", type_=Integer())
    statement = upsert_for(dialect, _COUNTERS).values(prefix=bindparam("prefix"),
                                                      year=bindparam("year"), last_number=size)
    return statement.on_conflict_do_update(
        index_elements=[_COUNTERS.c.prefix, _COUNTERS.c.year],
        set_={"last_number": _COUNTERS.c.last_number + size},
    ).returning(_COUNTERS.c.last_number, returning)


@functools.cache
def _bump_statement(dialect: str) -> Any:
    """The counter's upsert, built once per dialect: the number it reaches, and whether a
    stored case already has the reference that makes (``stem`` and the number, four digits
    at least). One statement, not a second to look the reference up: on PostgreSQL that
    look had been a tenth of acting on a referral (issue 18)."""
    # The row just written, named as it is rather than as a column of the table, which
    # SQLAlchemy would add to the look-up's FROM (it does not correlate inside RETURNING).
    written = literal_column("reference_counters.last_number", Integer)
    if dialect == "sqlite":
        digits = func.printf("%04d", written)
    else:
        as_text = cast(written, Text)
        digits = func.lpad(as_text, func.greatest(4, func.length(as_text)), "0")
    return _upsert(dialect, exists().where(
        _CASES.c.reference == bindparam("stem", type_=Text()) + digits))


@functools.cache
def _bump_block_statement(dialect: str) -> Any:
    """The counter's upsert, and whether a stored case has one of ``references``."""
    return _upsert(dialect, exists().where(_REFERENCES))
