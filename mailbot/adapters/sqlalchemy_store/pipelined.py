"""Many rows of one INSERT sent to the database driver's own ``executemany``, the statement
compiled once: SQLAlchemy builds and processes every row's parameters one by one.

``insert_many`` counts the rows inserted, on any driver. Storing a backlog runs it: 10,000
bare messages in batches of 500 took 143 ms of CPU through SQLAlchemy's executemany and take
113 ms this way, zlib and hashing included (SQLite, issue 19). It runs as SQLAlchemy's
``exec_driver_sql``, so errors are wrapped and translated, and statement events see it, as
for any statement.

``insert_returning`` returns the rows' ids, on psycopg 3 only. A deadline pass queues a
chunk's mail, 200 rendered emails of about 10 KB, in one statement. SQLAlchemy sends such a
batch as one INSERT with a VALUES row per email ("insertmanyvalues"), and psycopg converts
that statement's 2,800 parameters from scratch every time, as it caches only short
statements: the INSERT took 28 ms of a 110 ms pass on PostgreSQL, 17 ms of it this process's
CPU (bench/deadlines.py, issue 19). psycopg's ``executemany`` sends the one-row statement,
converted once, for every row in pipeline mode, all in one round trip: 10 ms, 4 ms of it CPU.
It runs on the session's own connection, inside its transaction; SQLAlchemy's statement
events and ``echo`` do not see it.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from operator import itemgetter
from typing import Any

from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session
from sqlalchemy.sql.dml import Insert

from mailbot.domain.errors import DatabaseTrouble, PermanentError


def psycopg_session(session: Session) -> bool:
    """Whether the session runs on psycopg 3, whose ``executemany`` can return rows."""
    return session.get_bind().dialect.driver == "psycopg"


def insert_returning(session: Session, statement: Insert,
                     rows: Sequence[Mapping[str, Any]]) -> list[Any]:
    """The first column ``statement`` returns, for each row it inserted (a row skipped by
    ON CONFLICT DO NOTHING returns none). Values are given as the table's column types bind
    them (every row with the same columns); database errors are translated as
    ``sql.translated`` does."""
    if not rows:
        return []
    import psycopg  # only PostgreSQL runs here: a SQLite worker never imports it

    connection = session.connection()
    sql, processors, _ = _compiled(statement, connection.dialect, tuple(rows[0]))
    driver = connection.connection.driver_connection
    assert isinstance(driver, psycopg.Connection)
    try:
        with driver.cursor() as cursor:
            cursor.executemany(sql, _bound(rows, processors), returning=True)
            returned = []
            while True:  # one result a row given
                returned.extend(found[0] for found in cursor.fetchall())
                if not cursor.nextset():
                    return returned
    except psycopg.IntegrityError as error:
        raise PermanentError(f"database constraint refused the change: {error}") from error
    except psycopg.OperationalError as error:
        if driver.broken or driver.closed:
            # As SQLAlchemy does with a lost connection it meets itself: the pool must not
            # hand it out again, and the unit of work's rollback must not be sent down it.
            connection.invalidate(error)
            raise DatabaseTrouble(f"database connection lost: {error}") from error
        raise DatabaseTrouble(f"database unavailable or busy: {error}") from error


def insert_many(session: Session, statement: Insert, rows: Sequence[Mapping[str, Any]]) -> int:
    """How many rows ``statement`` inserted of ``rows`` (a row skipped by ON CONFLICT DO
    NOTHING is not counted). Values are given as the table's column types bind them (every
    row with the same columns)."""
    if not rows:
        return 0
    connection = session.connection()
    sql, processors, order = _compiled(statement, connection.dialect, tuple(rows[0]))
    bound = _bound(rows, processors)
    parameters = list(map(_by_position(order), bound)) if order else bound
    result = connection.execution_options(preserve_rowcount=True).exec_driver_sql(sql, parameters)
    return int(result.rowcount)


def _by_position(order: tuple[str, ...]) -> Callable[[Mapping[str, Any]], tuple[Any, ...]]:
    if len(order) == 1:
        return lambda row: (row[order[0]],)
    return itemgetter(*order)


@functools.cache
def _compiled(statement: Insert, dialect: Dialect,
              columns: tuple[str, ...]) -> tuple[str, dict[str, Any], tuple[str, ...] | None]:
    """The statement's SQL for this dialect given these columns, the bind processor of each
    parameter whose type has one (UtcDateTime's check and conversion to UTC), and the order
    of the parameters where the driver takes them by position (SQLite's ``?``)."""
    compiled = statement.compile(dialect=dialect, column_keys=list(columns))
    processors = {name: bind.type.bind_processor(dialect) for name, bind in compiled.binds.items()}
    order = tuple(compiled.positiontup) if compiled.positional and compiled.positiontup else None
    return (compiled.string, {name: p for name, p in processors.items() if p is not None},
            order)


def _bound(rows: Sequence[Mapping[str, Any]], processors: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The rows' values as their types bind them. A value the rows share (a batch's time,
    the same object in every row) is converted once."""
    done: dict[str, tuple[Any, Any]] = {}  # by column: the last value converted, and to what
    bound = []
    for row in rows:
        values = dict(row)
        for name, process in processors.items():
            if name in values:
                value = values[name]
                last = done.get(name)
                if last is None or last[0] is not value:
                    last = done[name] = (value, process(value))
                values[name] = last[1]
        bound.append(values)
    return bound
