"""Benchmark of the deadline pass: its query, the whole pass, and `mailbot chase`.

Fills SQLite and PostgreSQL with 10k, 100k and 1M open cases, 100 of them due, and prints the
median time of ``due_for_chasing`` at each size, with the plan the database chose for that
very statement (EXPLAIN QUERY PLAN / EXPLAIN ANALYZE), which must use ix_cases_due, not a
scan. At the ``--pass-at`` size (100k) it then times the whole pass over 100 real due cases
(bench/deadline_pass.py: load, chase, queue the mail, commit) and the `mailbot chase`
command as a process. Targets: the query flat as the total grows; the whole pass under
100 ms at 100k (issue 19). Run from the project root:

    .venv/bin/python bench/deadlines.py [--sizes 10000,100000] [--databases sqlite,postgresql]
                                        [--pass-at 100000] [--pass-runs 7] [--command-runs 3]
                                        [--profile]

``--profile`` profiles the last pass and prints where it went: the due query, loading the
cases, the engine's chase, composing, the outbox rows, the vouching look-ups, commit, other.

Each database is filled once and grown from one size to the next. PostgreSQL gets a scratch
database of its own next to ``test`` (dropped afterwards); SQLite a file in a temporary
folder. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

from sqlalchemy import Engine, create_engine, event, update  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from mailbot.adapters.migrate import migrate  # noqa: E402
from mailbot.adapters.sqlalchemy_store import (  # noqa: E402
    SqlAlchemyUnitOfWork,
    make_engine,
    make_session_factory,
)
from mailbot.adapters.sqlalchemy_store.cases import due_for_chasing_query  # noqa: E402
from mailbot.adapters.sqlalchemy_store.orm import CaseRow  # noqa: E402

NOW = datetime(2026, 4, 1, 9, 0, tzinfo=UTC)
DUE = 100
BATCH = 50_000
COLUMNS = ("reference", "policy_key", "status", "stage", "phase", "deadline",
           "deadline_started_at", "stage_entered_at", "opened_at", "closed_at", "next_chase_at",
           "chase_points_passed", "outcome", "decision", "referral", "parties")
REFERRAL = json.dumps({"child_name": "", "referrer_name": "", "referrer_email": "",
                       "summary": "bench"})
PARTIES = json.dumps({})


def case_rows(start: int, stop: int, *, utc_text: bool) -> Iterator[tuple]:
    """Cases ``start``..``stop``-1; the first DUE of all are due, the rest chase later.

    Times are aware datetimes for PostgreSQL, or the naive UTC text the store writes for
    SQLite (UtcDateTime), so rows go in through the driver without the ORM's per-value work.
    """
    stamp = (lambda t: t.strftime("%Y-%m-%d %H:%M:%S.%f")) if utc_text else (lambda t: t)
    opened = stamp(NOW - timedelta(days=3))
    for n in range(start, stop):
        chase = NOW - timedelta(minutes=n + 1) if n < DUE else NOW + timedelta(
            minutes=1 + n % 40_000)
        yield (f"BENCH-2026-{n + 1:07d}", "bury", "open", 1, 0, stamp(chase + timedelta(days=1)),
               opened, opened, opened, None, stamp(chase), 0, "", "", REFERRAL, PARTIES)


def fill_sqlite(engine: Engine, start: int, stop: int) -> None:
    statement = (f"INSERT INTO cases ({', '.join(COLUMNS)})"
                 f" VALUES ({', '.join('?' * len(COLUMNS))})")
    raw = engine.raw_connection()
    try:
        cursor = raw.driver_connection.cursor()
        cursor.execute("BEGIN")
        rows = case_rows(start, stop, utc_text=True)
        while batch := list(itertools.islice(rows, BATCH)):
            cursor.executemany(statement, batch)
        cursor.execute("COMMIT")
        cursor.execute("ANALYZE")
    finally:
        raw.close()


def fill_postgresql(engine: Engine, start: int, stop: int) -> None:
    raw = engine.raw_connection()
    try:
        cursor = raw.driver_connection.cursor()
        with cursor.copy(f"COPY cases ({', '.join(COLUMNS)}) FROM STDIN") as copy:
            for row in case_rows(start, stop, utc_text=False):
                copy.write_row(row)
        cursor.execute("ANALYZE cases")
        raw.commit()
    finally:
        raw.close()


def time_query(engine: Engine, runs: int) -> tuple[float, float, int]:
    """Median and worst milliseconds of ``due_for_chasing`` over ``runs``, after a warm-up."""
    factory = make_session_factory(engine)
    timings, found = [], 0
    for attempt in range(runs + 2):
        with SqlAlchemyUnitOfWork(factory) as uow:
            started = time.perf_counter()
            found = len(uow.cases.due_for_chasing(NOW))
            elapsed = (time.perf_counter() - started) * 1000
        if attempt >= 2:
            timings.append(elapsed)
    return statistics.median(timings), max(timings), found


def query_plan(engine: Engine) -> str:
    """The plan for the statement ``due_for_chasing`` sends, with its own parameters: captured
    as it goes to the driver, then run again under EXPLAIN."""
    sent: list[tuple[str, object]] = []

    def capture(conn, cursor, statement, parameters, context, executemany):
        sent.append((statement, parameters))

    with engine.connect() as connection:
        event.listen(connection, "before_cursor_execute", capture)
        connection.execute(due_for_chasing_query(NOW))
        event.remove(connection, "before_cursor_execute", capture)
        statement, parameters = sent[-1]
        if engine.dialect.name == "sqlite":
            rows = connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters)
            return "; ".join(row[-1] for row in rows)
        rows = connection.exec_driver_sql(f"EXPLAIN (ANALYZE, COSTS OFF) {statement}", parameters)
        return "; ".join(row[0].strip() for row in rows)


def run(name: str, url: str, sizes: list[int], runs: int, args: argparse.Namespace) -> None:
    migrate(url)
    engine = make_engine(url)
    fill = fill_postgresql if name == "postgresql" else fill_sqlite
    filled = 0
    try:
        for size in sizes:
            started = time.perf_counter()
            fill(engine, filled, size)
            filled, fill_seconds = size, time.perf_counter() - started
            median, worst, found = time_query(engine, runs)
            print(f"{name:<11} {size:>9,} cases  due {found:>3}  query median {median:7.2f} ms"
                  f"  max {worst:7.2f} ms   (filled in {fill_seconds:5.1f} s)", flush=True)
            print(f"{'':<11} plan: {query_plan(engine)}", flush=True)
            if size == args.pass_at:
                whole_pass(name, url, size, args)
    finally:
        engine.dispose()


def whole_pass(name: str, url: str, size: int, args: argparse.Namespace) -> None:
    """The filler's own due cases are parked meanwhile (they hold no people to chase)."""
    from deadline_pass import bench_pass

    due_filler = [f"BENCH-2026-{n + 1:07d}" for n in range(DUE)]
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            connection.execute(update(CaseRow).where(CaseRow.reference.in_(due_filler))
                               .values(next_chase_at=NOW + timedelta(days=400)))
        bench_pass(name, url, size, NOW, DUE, args.pass_runs, args.command_runs, args.profile)
    finally:
        with engine.begin() as connection:
            for n, reference in enumerate(due_filler):
                connection.execute(update(CaseRow).where(CaseRow.reference == reference)
                                   .values(next_chase_at=NOW - timedelta(minutes=n + 1)))
        engine.dispose()


@contextlib.contextmanager
def postgres_scratch(server_url: str) -> Iterator[str]:
    """A new database beside the one in ``server_url``, so the bench never touches ``test``;
    dropped when the block ends."""
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    database = f"mailbot_bench_{uuid.uuid4().hex[:10]}"
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{database}"')
    try:
        yield make_url(server_url).set(database=database).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE "{database}" WITH (FORCE)')
        admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--pass-at", type=int, default=100_000,
                        help="the size at which the whole pass is timed (0: never)")
    parser.add_argument("--pass-runs", type=int, default=7)
    parser.add_argument("--command-runs", type=int, default=3)
    parser.add_argument("--profile", action="store_true", help="profile the last whole pass")
    parser.add_argument("--postgres-url",
                        default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    args = parser.parse_args()
    sizes = sorted(int(s) for s in args.sizes.split(","))
    for name in args.databases.split(","):
        if name == "sqlite":
            with tempfile.TemporaryDirectory() as folder:
                run(name, f"sqlite:///{folder}/bench.sqlite3", sizes, args.runs, args)
        else:
            with postgres_scratch(args.postgres_url) as url:
                run(name, url, sizes, args.runs, args)


if __name__ == "__main__":
    from machine import describe

    print(describe(), flush=True)
    main()
