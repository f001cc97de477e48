"""Benchmark of the thematic report (`mailbot report`) over 10,000 closed cases.

Fills a database with closed cases across the five policies, made by the real CaseEngine
(opened over a year; a first stage that ran long or short; resolved, escalated then
resolved, decided at the last stage, or withdrawn; some extensions and chasers), then times
the report for that year end to end: reading the case outlines, working out the tables, and
writing the Word report, seven PNG charts and the CSV. Prints the median of a few runs and
where the time goes. Target: under 10 s. Run from the project root:

    .venv/bin/python bench/report.py [--cases 10000] [--runs 3] [--databases sqlite,postgresql]

SQLite gets a file in a temporary folder; PostgreSQL a scratch schema in the ``test``
database on 127.0.0.1 (dropped afterwards). Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from mailbot.adapters.migrate import migrate  # noqa: E402
from mailbot.adapters.policy_files import calendar_for, load_policy  # noqa: E402
from mailbot.adapters.report_files import write_report  # noqa: E402
from mailbot.adapters.sqlalchemy_store import (  # noqa: E402
    SqlAlchemyUnitOfWork,
    make_engine,
    make_session_factory,
)
from mailbot.domain.engine import CaseEngine  # noqa: E402
from mailbot.domain.notices import Partnership  # noqa: E402
from mailbot.domain.referral import AgencyType, Person, Referral  # noqa: E402
from mailbot.domain.reporting import PolicyCalendar, build_report  # noqa: E402
from mailbot.domain.working_days import LONDON  # noqa: E402
from mailbot.services.reporting import agency_label, period_of  # noqa: E402

POLICIES = ("berkshire", "birmingham", "bromley", "bury", "hackney")
CATEGORIES = ("Roles and responsibilities", "Levels of need", "Need for action", "Communication",
              "Sharing of information", "")
AGENCIES = tuple(AgencyType)
MANAGER = Person("Bench Manager", "bm@bench.example")
FIRST = datetime(2026, 1, 2, 10, tzinfo=LONDON)
BATCH = 1000


def engines() -> dict[str, CaseEngine]:
    made = {}
    for key in POLICIES:
        policy = load_policy(key)
        made[key] = CaseEngine(policy, calendar_for(policy), Partnership(f"{key}@bench.example", (MANAGER,)))
    return made


def closed_case(i: int, engine: CaseEngine, spread: timedelta):
    opened = FIRST + spread * i
    referral = Referral(
        child_name=f"Bench Child {i}", child_dob=date(2014, 1, 1) + timedelta(days=i % 3000),
        referrer_name=f"Referrer {i}", referrer_email=f"referrer{i}@agency.example",
        summary="A disagreement about the level of need.", stage_reached=1,
        referrer_agency_type=AGENCIES[i % 7], other_agency_type=AGENCIES[(i // 7) % 7],
        disagreement_category=CATEGORIES[(i // 5) % len(CATEGORIES)])
    reference = f"{engine.policy.reference_prefix}-2026-{i:05d}"
    case, _ = engine.open_case(referral, reference, opened)
    if i % 8 == 0:
        engine.extend(case, 2, opened + timedelta(minutes=30), MANAGER.email)
    left = opened + (timedelta(days=25) if i % 4 == 0 else timedelta(hours=3))
    if i % 4 == 0:
        engine.chase(case, left - timedelta(hours=1))
    ending = i % 4
    if ending == 0:
        engine.record_outcome(case, "Agreed.", left, MANAGER.email)
    elif ending == 1:
        engine.escalate(case, left, MANAGER.email)
        engine.record_outcome(case, "Agreed.", left + timedelta(hours=2), MANAGER.email)
    elif ending == 2:
        engine.move_to_stage(case, engine.policy.last_stage.number, left, MANAGER.email)
        engine.record_decision(case, "Decided.", left + timedelta(hours=2), MANAGER.email)
    else:
        engine.withdraw(case, "Raised in error.", left, MANAGER.email)
    return case


def fill(url: str, count: int) -> float:
    started = time.perf_counter()
    migrate(url)
    factory = make_session_factory(make_engine(url))
    made = engines()
    spread = timedelta(days=330) / count
    for start in range(0, count, BATCH):
        with SqlAlchemyUnitOfWork(factory) as uow:
            for i in range(start, min(start + BATCH, count)):
                uow.cases.add(closed_case(i, made[POLICIES[i % 5]], spread))
            uow.commit()
    return time.perf_counter() - started


def one_run(url: str, out: Path) -> dict[str, float]:
    factory = make_session_factory(make_engine(url))
    policies = {key: PolicyCalendar(e.policy, e.calendar) for key, e in engines().items()}
    period = period_of(date(2026, 1, 1), date(2026, 12, 31))
    times = {}
    started = time.perf_counter()
    with SqlAlchemyUnitOfWork(factory) as uow:
        outlines = uow.records.outlines(period.start, period.end)
    times["read outlines"] = time.perf_counter() - started
    mark = time.perf_counter()
    report = build_report(outlines, policies, period, agency_label)
    times["work out tables"] = time.perf_counter() - mark
    mark = time.perf_counter()
    write_report(report, out, "Bench thematic report")
    times["write docx, charts, csv"] = time.perf_counter() - mark
    times["total"] = time.perf_counter() - started
    times["cases"] = len(outlines)
    return times


def bench(name: str, url: str, count: int, runs: int, folder: Path) -> None:
    print(f"{name}: filling {count} closed cases ...", flush=True)
    print(f"  filled in {fill(url, count):.1f} s")
    one_run(url, folder / "warm-up")  # matplotlib's font cache, imports
    results = [one_run(url, folder / f"run{n}") for n in range(runs)]
    print(f"  report over {int(results[0]['cases'])} cases, median of {runs} runs (target < 10 s):")
    for key in ("read outlines", "work out tables", "write docx, charts, csv", "total"):
        values = [r[key] for r in results]
        print(f"    {key:<26} {statistics.median(values):6.2f} s"
              f"   (min {min(values):.2f}, max {max(values):.2f})")


def postgres_url() -> tuple[str, Callable[[], None]]:
    import uuid

    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url

    base = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    schema = f"bench_report_{uuid.uuid4().hex[:10]}"
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE SCHEMA "{schema}"')

    def drop() -> None:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        admin.dispose()

    url = make_url(base).update_query_dict({"options": f"-csearch_path={schema}"})
    return url.render_as_string(hide_password=False), drop


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--databases", default="sqlite")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        for name in args.databases.split(","):
            if name == "sqlite":
                bench("SQLite", f"sqlite:///{folder}/bench.sqlite3", args.cases, args.runs,
                      Path(folder) / "sqlite")
            else:
                url, drop = postgres_url()
                try:
                    bench("PostgreSQL", url, args.cases, args.runs, Path(folder) / "postgresql")
                finally:
                    drop()


if __name__ == "__main__":
    main()
