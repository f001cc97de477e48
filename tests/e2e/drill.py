"""The two-worker drill (issue 14, "Done when"), shared by tests/e2e/test_two_workers.py and
bench/two_worker_drill.py.

On one PostgreSQL database: 100 cases opened a few working days ago (so each has a reminder
due), then two `mailbot run` workers on four Maildir mailboxes, 200 new referrals delivered as
they start, and one worker SIGKILLed at a random moment. The survivor must finish everything:
every referral acknowledged, every reminder sent, each once, and the dead worker's mailboxes
taken over within ``lease_seconds``.
"""

from __future__ import annotations

import collections
import random
import signal
import subprocess
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from tests.e2e.harness import at
from tests.e2e.many_workers import PARTNERSHIPS, Deployment, referral, sent_twice

OPENED = at("2026-11-23")  # Monday: the 100 older cases are opened
CHASED = at("2026-11-27")  # Friday: each of them has a reminder due (the workers' --now)
NEW_NUMBERS = 1000  # referrer numbers of the new referrals start here


@dataclass
class Worker:
    process: subprocess.Popen
    lines: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        for line in self.process.stdout:
            self.lines.append(line)

    def output(self) -> str:
        return "".join(self.lines)


@dataclass
class DrillResult:
    killed_after: float  # seconds after the workers started
    takeover: float  # seconds from the kill until the survivor held every mailbox
    finished_after: float  # seconds from the start until everything was done
    cases: int
    acknowledgements: collections.Counter  # referrer -> acknowledgements delivered
    reminders: dict[str, int]  # case -> reminder rows queued
    undelivered: list[str]  # outbox rows never delivered
    duplicates: dict[str, int]  # Message-ID -> times delivered, where more than once
    survivor_exit: int
    survivor_log: str


def set_up(workdir: Path, database_url: str, chasers: int, lease_seconds: float) -> Deployment:
    """The older cases, opened by one `mailbot poll` whose mail goes to a folder of its own."""
    earlier = Deployment(workdir, database_url, list(PARTNERSHIPS), lease_seconds=lease_seconds,
                         outbox_name="setup-outbox")
    for number in range(chasers):
        name = list(PARTNERSHIPS)[number % len(PARTNERSHIPS)]
        earlier.deliver(name, [referral(name, number, OPENED)])
    code, output = earlier.run("poll", now=OPENED.isoformat())
    assert code == 0, output[-3000:]
    return Deployment(workdir, database_url, list(PARTNERSHIPS), lease_seconds=lease_seconds)


def run_drill(workdir: Path, database_url: str, *, referrals: int = 200, chasers: int = 100,
              lease_seconds: float = 5, seed: int = 0, timeout: float = 180) -> DrillResult:
    rng = random.Random(seed)
    deployment = set_up(workdir, database_url, chasers, lease_seconds)
    started = time.monotonic()
    workers = [Worker(deployment.start("run", now=CHASED.isoformat())) for _ in range(2)]
    try:
        for worker in workers:  # both at work before the referrals arrive
            _wait_for_line(worker, "worker started", timeout=60)
        delivered = time.monotonic()
        for number in range(referrals):
            name = list(PARTNERSHIPS)[number % len(PARTNERSHIPS)]
            deployment.deliver(name, [referral(name, NEW_NUMBERS + number, CHASED)])
        time.sleep(max(0.0, delivered + rng.uniform(0.0, 8.0) - time.monotonic()))
        victim = rng.randrange(2)
        workers[victim].process.send_signal(signal.SIGKILL)
        killed_at, killed_after = datetime.now(UTC), time.monotonic() - delivered
        workers[victim].process.wait(timeout=10)
        survivor = workers[1 - victim]
        finished_after = _wait_until_done(deployment, survivor, chasers + referrals, started, timeout)
        takeover = _takeover(deployment, survivor, killed_at)
    finally:
        for worker in workers:
            if worker.process.poll() is None:
                worker.process.send_signal(signal.SIGTERM)
        for worker in workers:
            try:
                worker.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                worker.process.kill()
                worker.process.wait()
            worker.reader.join(timeout=5)
    return _result(deployment, survivor, killed_after, takeover, finished_after, chasers)


def _wait_for_line(worker: Worker, text: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not any(text in line for line in worker.lines):
        if time.monotonic() > deadline or worker.process.poll() is not None:
            raise AssertionError(f"no {text!r} from the worker:\n{worker.output()[-3000:]}")
        time.sleep(0.1)


def _wait_until_done(deployment: Deployment, survivor: Worker, messages: int, started: float,
                     timeout: float) -> float:
    """Waits until every message is acted on, every outbox row sent and the survivor holds
    every mailbox; returns the seconds since the start."""
    holder = f":{survivor.process.pid}:"
    acted = unsent = 0
    held: list = []
    while time.monotonic() - started < timeout:
        if survivor.process.poll() is not None:
            raise AssertionError(f"the survivor exited {survivor.process.returncode}:\n"
                                 f"{survivor.output()[-3000:]}")
        [(acted,)] = deployment.query("SELECT count(*) FROM inbound_messages WHERE status <> 'received'")
        [(unsent,)] = deployment.query("SELECT count(*) FROM outbox WHERE status <> 'sent'")
        held = deployment.query("SELECT holder FROM leases WHERE name LIKE 'mailbox:%'")
        if acted == messages and unsent == 0 and len(held) == len(PARTNERSHIPS) and all(
                holder in h for (h,) in held):
            return time.monotonic() - started
        time.sleep(0.5)
    raise AssertionError(f"not done within {timeout}s: {acted} of {messages} messages acted on,"
                         f" {unsent} outbox row(s) not sent, mailbox leases {held} (the"
                         f" survivor is {holder}):\n{survivor.output()[-3000:]}")


def _takeover(deployment: Deployment, survivor: Worker, killed_at: datetime) -> float:
    """From the kill to the moment the survivor took the last of the dead worker's mailboxes
    (0 when it held them all already)."""
    since = [s if s.tzinfo else s.replace(tzinfo=UTC) for (s,) in deployment.query(
        "SELECT since FROM leases WHERE name LIKE 'mailbox:%'")]
    if isinstance(since[0], str):  # SQLite hands back text
        since = [datetime.fromisoformat(s).replace(tzinfo=UTC) for s in since]
    return max(0.0, max((s - killed_at).total_seconds() for s in since))


def _result(deployment: Deployment, survivor: Worker, killed_after: float, takeover: float,
            finished_after: float, chasers: int) -> DrillResult:
    sent = deployment.sent()
    delivered = {message_id for message_id, _, _ in sent + deployment.sent("setup-outbox")}
    acknowledgements = collections.Counter(
        to for _, template, to in sent if template == "acknowledgement")
    reminders = dict(deployment.query(
        "SELECT case_reference, count(*) FROM outbox WHERE template = 'reminder'"
        " GROUP BY case_reference"))
    undelivered = [m for (m,) in deployment.query("SELECT message_id FROM outbox") if m not in delivered]
    [(cases,)] = deployment.query("SELECT count(*) FROM cases")
    return DrillResult(killed_after, takeover, finished_after, cases, acknowledgements, reminders,
                       undelivered, sent_twice(sent), survivor.process.returncode,
                       survivor.output())
