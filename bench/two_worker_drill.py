"""The two-worker drill, ten times (issue 14, "Done when"). Prints one line a run and a summary.

Each run, on a fresh PostgreSQL schema: 100 cases opened a few working days ago (each with a
reminder due), two `mailbot run` workers on four Maildir mailboxes, 200 new referrals, and one
worker SIGKILLed at a random moment (seeded). Checked: 300 cases; each new referral
acknowledged exactly once; each of the 100 reminders queued once and delivered once; nothing
left undelivered; the survivor took the dead worker's mailboxes within lease_seconds.

    nice .venv/bin/python bench/two_worker_drill.py [--runs 10] [--lease-seconds 5]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[0] = str(ROOT)  # not bench/: its mailbox.py would hide the standard library's

from tests.e2e.drill import NEW_NUMBERS, run_drill  # noqa: E402
from tests.integration.db_fixtures import postgres_schema_url  # noqa: E402


def _problems(result, args) -> list[str]:
    expected = {f"Referrer {n} <referrer{n}@agency.test>"
                for n in range(NEW_NUMBERS, NEW_NUMBERS + args.referrals)}
    problems = []
    if result.cases != args.referrals + args.chasers:
        problems.append(f"{result.cases} cases")
    if set(result.acknowledgements) != expected or set(result.acknowledgements.values()) != {1}:
        problems.append("acknowledgements missing or twice")
    if len(result.reminders) != args.chasers or set(result.reminders.values()) != {1}:
        problems.append(f"reminders for {len(result.reminders)} cases")
    if result.undelivered:
        problems.append(f"{len(result.undelivered)} undelivered")
    if result.duplicates:
        problems.append(f"{len(result.duplicates)} delivered twice")
    if result.takeover > args.lease_seconds:
        problems.append(f"takeover {result.takeover:.1f}s")
    if result.survivor_exit:
        problems.append(f"survivor exit {result.survivor_exit}")
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--lease-seconds", type=float, default=5)
    parser.add_argument("--referrals", type=int, default=200)
    parser.add_argument("--chasers", type=int, default=100)
    args = parser.parse_args()
    failures, takeovers = 0, []
    for run in range(1, args.runs + 1):
        with tempfile.TemporaryDirectory(prefix="mailbot-drill-") as workdir:
            for url in postgres_schema_url():
                result = run_drill(Path(workdir), url, referrals=args.referrals,
                                   chasers=args.chasers, lease_seconds=args.lease_seconds,
                                   seed=run)
        problems = _problems(result, args)
        failures += bool(problems)
        takeovers.append(result.takeover)
        print(f"run {run:2d}: killed {result.killed_after:4.1f}s after the referrals arrived;"
              f" takeover {result.takeover:3.1f}s; all done after {result.finished_after:4.1f}s;"
              f" {sum(result.acknowledgements.values())} acknowledgements,"
              f" {len(result.reminders)} reminders, {len(result.duplicates)} delivered twice:"
              f" {'; '.join(problems) or 'ok'}", flush=True)
    print(f"{args.runs - failures} of {args.runs} runs ok; takeover median"
          f" {statistics.median(takeovers):.1f}s, max {max(takeovers):.1f}s"
          f" (lease_seconds = {args.lease_seconds:g})")
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
