"""Throughput of two `mailbot run` workers against one, on the same backlog (issue 14).

On a fresh PostgreSQL schema each round: the workers start on four Maildir mailboxes and
share them out (leases), then a backlog of referrals is delivered to the four mailboxes at
once, and the time is taken from delivery until every referral is acted on and every email
it caused is written to the outbox folder. Medians over the rounds, in referrals a second.
Both workers share this machine's cores with each other and with PostgreSQL.

    nice .venv/bin/python bench/two_workers.py [--backlog 400] [--rounds 3]
"""

from __future__ import annotations

import argparse
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[0] = str(ROOT)  # not bench/: its mailbox.py would hide the standard library's

from tests.e2e.drill import CHASED, Worker, _wait_for_line  # noqa: E402
from tests.e2e.many_workers import PARTNERSHIPS, Deployment, referral  # noqa: E402
from tests.integration.db_fixtures import postgres_schema_url  # noqa: E402

LEASE_SECONDS = 4


def one_round(workers: int, backlog: int) -> float:
    """Seconds from delivery until the backlog is acted on and its mail written."""
    with tempfile.TemporaryDirectory(prefix="mailbot-two-workers-") as workdir:
        for url in postgres_schema_url():
            deployment = Deployment(Path(workdir), url, list(PARTNERSHIPS), lease_seconds=LEASE_SECONDS)
            for name in PARTNERSHIPS:
                deployment.maildir(name)
            running = [Worker(deployment.start("run", now=CHASED.isoformat())) for _ in range(workers)]
            try:
                for worker in running:
                    _wait_for_line(worker, "worker started", timeout=60)
                _wait_for_shares(deployment, workers)
                messages = [(name, referral(name, number, CHASED)) for number in range(backlog)
                            for name in [list(PARTNERSHIPS)[number % len(PARTNERSHIPS)]]]
                boxes = {name: deployment.maildir(name) for name in PARTNERSHIPS}
                started = time.monotonic()
                for name, message in messages:
                    boxes[name].add(message)
                while True:
                    [(acted,)] = deployment.query(
                        "SELECT count(*) FROM inbound_messages WHERE status <> 'received'")
                    [(unsent,)] = deployment.query("SELECT count(*) FROM outbox WHERE status <> 'sent'")
                    if acted == backlog and unsent == 0:
                        return time.monotonic() - started
                    time.sleep(0.05)
            finally:
                for worker in running:
                    worker.process.send_signal(signal.SIGTERM)
                for worker in running:
                    worker.process.wait(timeout=60)
    raise AssertionError("unreachable")


def _wait_for_shares(deployment: Deployment, workers: int, timeout: float = 60) -> None:
    """Until the mailboxes are spread over every worker (a worker takes its share a round on)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        holders = deployment.query("SELECT holder, count(*) FROM leases WHERE name LIKE 'mailbox:%'"
                                   " GROUP BY holder")
        if len(holders) == workers and sum(n for _, n in holders) == len(PARTNERSHIPS):
            return
        time.sleep(0.2)
    raise AssertionError("the workers did not share the mailboxes out")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backlog", type=int, default=400)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    medians = {}
    for workers in (1, 2):
        times = [one_round(workers, args.backlog) for _ in range(args.rounds)]
        medians[workers] = statistics.median(times)
        print(f"{workers} worker(s): {args.backlog} referrals in "
              + ", ".join(f"{t:.1f}s" for t in times)
              + f"; median {args.backlog / medians[workers]:.1f} referrals/s", flush=True)
    print(f"two workers against one: {medians[1] / medians[2]:.2f}x the throughput")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
