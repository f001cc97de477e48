"""The whole deadline pass, for bench/deadlines.py: in process, and as `mailbot chase`.

Beside the filler cases, ``prepare`` opens real Bury cases through the engine (a referral with
a referrer, another agency and immediate risk), a batch of DUE for every timed run, long
enough ago that a chase now sends their overdue notices. All are then parked in the future;
each run brings one fresh batch due and times ``run_deadline_pass`` (load each case, chase
it, queue its mail, commit), or the `mailbot chase` command as a process of its own (start,
imports, the pass and the sending of its mail to a folder).
"""

from __future__ import annotations

import cProfile
import io
import os
import pstats
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import delete, update

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "tests" / "unit")]

from rendering_cases import referral  # noqa: E402

from mailbot.adapters.sqlalchemy_store.orm import CaseRow, OutboxMessageRow  # noqa: E402
from mailbot.bootstrap import bootstrap  # noqa: E402
from mailbot.config import load_settings  # noqa: E402
from mailbot.services.deadlines import run_deadline_pass  # noqa: E402

PREFIX = "CHASE-2026-"
# Where a profiled pass's time goes: each part is the cumulative time of the functions that do
# it (file, names); "other" is the rest (transactions begun, savepoints, the loop itself).
PHASES = (("query", "cases.py", ("due_for_chasing",)),
          ("load", "cases.py", ("get_many",)),
          ("domain", "engine.py", ("chase",)),
          ("compose", "mail_composer.py", ("compose",)),
          ("queue", "outbox.py", ("enqueue_many",)),
          ("vouched", "vouching.py", ("known", "look_up")),
          ("commit", "unit_of_work.py", ("commit",)))
PARKED = datetime(2027, 6, 1, 9, 0, tzinfo=UTC)


def write_config(folder: Path, url: str) -> Path:
    config = folder / "config.toml"
    config.write_text(f"""
timezone = "Europe/London"
[database]
url = "{url}"
[outgoing]
kind = "directory"
directory = "outbox"
[[mailbox]]
name = "bury"
address = "bsp@bury.example"
policy = "bury"
kind = "maildir"
path = "maildir"
business_managers = ["Bea Manager <business.manager@bury.example>"]
sender_trust = "none"
""", encoding="utf-8")
    return config


def prepare(config: Path, now: datetime, due: int, batches: int):
    """Opens ``due * batches`` real cases and parks them; returns the app."""
    app = bootstrap(load_settings(config))
    engine = app.services.for_policy("bury").engine
    opened = now - timedelta(days=40)
    for start in range(0, due * batches, 500):
        with app.services.uow_factory() as uow:
            for number in range(start, min(start + 500, due * batches)):
                case, _ = engine.open_case(referral(), f"{PREFIX}{number:04d}", opened,
                                           f"<bench-{number}@school.example>")
                uow.cases.add(case)
            uow.commit()
    park(app)
    return app


def park(app, prefix: str = PREFIX, at: datetime = PARKED) -> None:
    _execute(app, update(CaseRow).where(CaseRow.reference.startswith(prefix))
             .values(next_chase_at=at))


def bring_due(app, batch: int, due: int, now: datetime) -> None:
    references = [f"{PREFIX}{number:04d}" for number in range(batch * due, (batch + 1) * due)]
    _execute(app, delete(OutboxMessageRow))
    _execute(app, update(CaseRow).where(CaseRow.reference.in_(references))
             .values(next_chase_at=now - timedelta(minutes=1)))


def _execute(app, statement) -> None:
    with app.services.uow_factory() as uow:
        uow.session.execute(statement)
        uow.commit()


def time_pass(app, now: datetime, due: int, first: int, runs: int,
              profile: bool) -> tuple[list[float], list[float], int]:
    """Milliseconds of each in-process pass (wall clock, and this process's CPU), and the
    emails the last one queued."""
    timings, cpu, queued = [], [], 0
    profiler = cProfile.Profile() if profile else None
    for run in range(runs):
        bring_due(app, first + run, due, now)
        started, started_cpu = time.perf_counter(), time.process_time()
        if profiler and run == runs - 1:
            profiler.enable()
        queued = run_deadline_pass(app.services, now)
        if profiler and run == runs - 1:
            profiler.disable()
        timings.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - started_cpu) * 1000)
    if profiler:
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out)
        stats.sort_stats("cumulative").print_stats(25)
        print(out.getvalue())
        print(split(stats))
    return timings, cpu, queued


def split(stats: pstats.Stats) -> str:
    """The profiled pass's milliseconds by part (PHASES), the profiler's own cost included."""
    table = stats.stats  # type: ignore[attr-defined]  # {(file, line, name): (.., .., tt, ct, ..)}
    total = max(ct for (file, _, name), (*_, ct, _) in table.items()
                if name == "run_deadline_pass")
    parts = {label: sum(ct for (file, _, name), (*_, ct, _) in table.items()
                        if file.endswith(f"/{module}") and name in names)
             for label, module, names in PHASES}
    parts["other"] = total - sum(parts.values())
    shown = ", ".join(f"{label} {ms * 1000:.1f}" for label, ms in parts.items())
    return f"profiled pass {total * 1000:.1f} ms: {shown}"


def time_command(app, config: Path, now: datetime, due: int, first: int,
                 runs: int) -> tuple[list[float], list[float]]:
    """Seconds of each `mailbot chase` process, start to exit: wall clock, and its CPU."""
    timings, cpu = [], []
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for run in range(runs):
        bring_due(app, first + run, due, now)
        started, children = time.perf_counter(), _children_cpu()
        done = subprocess.run([sys.executable, "-m", "mailbot", "--config", str(config), "--now",
                               now.isoformat(), "chase"], env=env, cwd=config.parent,
                              stderr=subprocess.PIPE, text=True)
        if done.returncode:
            raise SystemExit(f"mailbot chase failed: {done.stderr[-2000:]}")
        timings.append(time.perf_counter() - started)
        cpu.append(_children_cpu() - children)
    return timings, cpu


def _children_cpu() -> float:
    """CPU seconds, user and system, of the child processes waited for so far."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def bench_pass(name: str, url: str, size: int, now: datetime, due: int, runs: int,
               command_runs: int, profile: bool) -> None:
    with tempfile.TemporaryDirectory() as folder:
        config = write_config(Path(folder), url)
        warm = 1
        app = prepare(config, now, due, warm + runs + command_runs)
        try:
            time_pass(app, now, due, 0, warm, False)
            timings, cpu, queued = time_pass(app, now, due, warm, runs, profile)
            print(f"{name:<11} {size:>9,} cases  the whole pass over {due} due ({queued} emails"
                  f" queued): median {statistics.median(timings):6.1f} ms, min {min(timings):6.1f},"
                  f" max {max(timings):6.1f}; this process's CPU median"
                  f" {statistics.median(cpu):6.1f} ms, min {min(cpu):6.1f} (target < 100 ms)",
                  flush=True)
            if command_runs:
                seconds, cpu = time_command(app, config, now, due, warm + runs, command_runs)
                print(f"{'':<11} `mailbot chase` as a process (start, imports, pass, sending to a"
                      f" folder): median {statistics.median(seconds):5.2f} s, min {min(seconds):5.2f},"
                      f" max {max(seconds):5.2f}; its CPU median {statistics.median(cpu):5.2f} s,"
                      f" min {min(cpu):5.2f}", flush=True)
        finally:
            _execute(app, delete(OutboxMessageRow))
            park(app)
