"""Issue 14's drills, on real servers: a fault is made while the worker runs, then ended. In
each: no referral lost, no case duplicated, no email sent twice, the business managers told
once (a failure notice and, later, one saying it works again), and the worker healthy again
by itself (`mailbot status` exits 0)."""

from __future__ import annotations

import email
import mailbox
import time
from collections import Counter
from datetime import datetime
from email.policy import default
from pathlib import Path

from mailbot.bootstrap import bootstrap
from mailbot.config import load_settings
from mailbot.domain.working_days import LONDON
from mailbot.entrypoints.demo import referral_email
from mailbot.entrypoints.worker import Worker
from tests.e2e.commands import mailbot, maildir_config, wait_for

FAULTS = ("mailbox_failure", "job_failure")
RECOVERIES = ("mailbox_recovered", "job_recovered")


def deliver(folder: Path, count: int) -> None:
    (folder / "maildir").mkdir(exist_ok=True)
    maildir = mailbox.Maildir(folder / "maildir" / "bury", create=True)
    for _ in range(count):
        maildir.add(referral_email("bsp@bury.test", datetime.now(LONDON)))


def sent(outbox: Path) -> list:
    return [email.message_from_bytes(p.read_bytes(), policy=default) for p in sorted(outbox.glob("*.eml"))]


def templates(outbox: Path) -> Counter:
    return Counter(str(m["X-Mailbot-Template"]) for m in sent(outbox))


def assert_whole(folder: Path, config: Path, referrals: int) -> None:
    """Every referral one case, every email once, the managers told of the fault once."""
    outbox = folder / "outbox"
    messages = sent(outbox)
    ids = Counter(str(m["Message-ID"]) for m in messages)
    assert all(n == 1 for n in ids.values()), "an email went twice"
    cases = mailbot("--config", str(config), "cases", cwd=folder).stdout
    assert cases.count("BSCP-") == referrals, cases
    count = templates(outbox)
    assert count["acknowledgement"] == referrals and count["new_case"] == referrals, count
    assert sum(count[t] for t in FAULTS) == 1 and sum(count[t] for t in RECOVERIES) == 1, count
    status = mailbot("--config", str(config), "status", cwd=folder)
    assert status.returncode == 0, status.stdout + status.stderr


class FlakyMailbox:
    """A real Maildir mailbox whose next fetch raises what a bug would: once."""

    def __init__(self, inner, faults: list[BaseException]):
        self.inner, self.faults = inner, faults

    def fetch_new(self, limit: int = 200):
        if self.faults:
            raise self.faults.pop()
        return self.inner.fetch_new(limit)

    def __getattr__(self, name):
        return getattr(self.inner, name)


def test_a_watcher_that_raises_an_unexpected_error_reports_it_once_and_carries_on(tmp_path):
    config = maildir_config(tmp_path)
    deliver(tmp_path, 3)
    app = bootstrap(load_settings(config))
    faults: list[BaseException] = [RuntimeError("a bug nobody expected")]
    opened = app.open_mailbox
    app.open_mailbox = lambda name: FlakyMailbox(opened(name), faults)
    worker = Worker(app, lambda: datetime.now(LONDON))
    threads = worker.start()
    try:
        assert wait_for(lambda: templates(tmp_path / "outbox")["acknowledgement"] == 3, timeout=30)
        assert wait_for(lambda: templates(tmp_path / "outbox")["mailbox_recovered"] == 1, timeout=10)
        deliver(tmp_path, 1)  # still watched
        assert wait_for(lambda: templates(tmp_path / "outbox")["acknowledgement"] == 4, timeout=30)
        time.sleep(2)
    finally:
        worker.stop()
        worker.scheduler.shutdown(wait=True)
        for thread in threads:
            thread.join(timeout=15)
    assert not any(thread.is_alive() for thread in threads)
    [failure] = [m for m in sent(tmp_path / "outbox") if m["X-Mailbot-Template"] == "mailbox_failure"]
    assert "RuntimeError: a bug nobody expected" in failure.get_body(("plain",)).get_content()
    assert_whole(tmp_path, config, 4)
