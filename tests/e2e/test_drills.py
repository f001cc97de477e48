"""Issue 14's drills, on real servers: a fault is made while the worker runs, then ended. In
each: no referral lost, no case duplicated, no email sent twice, the business managers told
once (a failure notice and, later, one saying it works again), and the worker healthy again
by itself (`mailbot status` exits 0)."""

from __future__ import annotations

import email
import mailbox
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from email.policy import default
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from mailbot.bootstrap import bootstrap
from mailbot.config import load_settings
from mailbot.domain.working_days import LONDON
from mailbot.entrypoints.demo import referral_email
from mailbot.entrypoints.worker import Worker
from tests.e2e.commands import mailbot, maildir_config, start, stop, wait_for
from tests.integration.conftest import _dovecot
from tests.integration.db_fixtures import postgres_schema_url
from tests.servers.tcp_proxy import TcpProxy

FAULTS = ("mailbox_failure", "job_failure")
RECOVERIES = ("mailbox_recovered", "job_recovered")
LOCK_SECONDS = 12  # the 30 s, shortened: the worker's busy timeout is 2 s here
LOCK_HOLDER = """
import sqlite3, sys, time
connection = sqlite3.connect(sys.argv[1], isolation_level=None)
connection.execute("BEGIN EXCLUSIVE")
print("locked", flush=True)
time.sleep(float(sys.argv[2]))
connection.execute("COMMIT")
"""


def deliver(folder: Path, count: int) -> None:
    (folder / "maildir").mkdir(exist_ok=True)
    maildir = mailbox.Maildir(folder / "maildir" / "bury", create=True)
    for _ in range(count):
        maildir.add(referral_email("bsp@bury.test", datetime.now(LONDON)))


def sent(outbox: Path) -> list:
    return [email.message_from_bytes(p.read_bytes(), policy=default) for p in sorted(outbox.glob("*.eml"))]


def templates(outbox: Path) -> Counter:
    return Counter(str(m["X-Mailbot-Template"]) for m in sent(outbox))


def assert_whole(folder: Path, config: Path, referrals: int, told: int | None = 1) -> None:
    """Every referral one case, every email once, the managers told of the fault ``told`` times
    (None: at most once, for a fault the adapter may absorb) and of its end as often."""
    outbox = folder / "outbox"
    messages = sent(outbox)
    ids = Counter(str(m["Message-ID"]) for m in messages)
    assert all(n == 1 for n in ids.values()), "an email went twice"
    cases = mailbot("--config", str(config), "cases", cwd=folder).stdout
    assert cases.count("BSCP-") == referrals, cases
    count = templates(outbox)
    assert count["acknowledgement"] == referrals and count["new_case"] == referrals, count
    faults, recoveries = sum(count[t] for t in FAULTS), sum(count[t] for t in RECOVERIES)
    assert faults == recoveries and (faults == told if told is not None else faults <= 1), count
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


# --- the worker as a process --------------------------------------------------------------

def run_config(folder: Path, database: str = "sqlite:///data/mailbot.sqlite3", extra: str = "") -> Path:
    config = maildir_config(folder, database)
    text = config.read_text().replace(f'url = "{database}"', f'url = "{database}"\n{extra}')
    config.write_text(text)
    (folder / "maildir").mkdir(exist_ok=True)
    return config


@contextmanager
def worker_process(config: Path, **env: str) -> Iterator[subprocess.Popen]:
    process = start("--config", str(config), "run", cwd=config.parent, **env)
    try:
        yield process
    except BaseException:
        print(stop(process)[1], "\n", templates(config.parent / "outbox"))  # shown when it fails
        raise
    code, output = stop(process)
    assert code == 0, output


def acknowledged(folder: Path, count: int, timeout: float = 60) -> bool:
    """``count`` referrals acknowledged, and their business managers told of each."""
    def done() -> bool:
        sent_so_far = templates(folder / "outbox")
        return sent_so_far["acknowledgement"] >= count and sent_so_far["new_case"] >= count
    return wait_for(done, timeout)


def recovered(folder: Path, timeout: float = 60) -> bool:
    return wait_for(lambda: sum(templates(folder / "outbox")[t] for t in RECOVERIES) >= 1, timeout)


def test_sqlite_held_locked_by_another_process(tmp_path):
    config = run_config(tmp_path, extra="busy_timeout_seconds = 2")
    deliver(tmp_path, 1)
    with worker_process(config):
        assert acknowledged(tmp_path, 1)
        database = tmp_path / "data" / "mailbot.sqlite3"
        holder = subprocess.Popen([sys.executable, "-c", LOCK_HOLDER, str(database), str(LOCK_SECONDS)],
                                  stdout=subprocess.PIPE, text=True)
        assert holder.stdout.readline().strip() == "locked"
        deliver(tmp_path, 2)  # arrives while the database is locked
        assert holder.wait(timeout=LOCK_SECONDS + 30) == 0
        assert acknowledged(tmp_path, 3)
        assert recovered(tmp_path)
    assert_whole(tmp_path, config, 3)


@pytest.mark.slow  # about 50 s: the failed rows wait out the send pass's first 30 s back-off
def test_the_outbox_folder_unwritable(tmp_path):
    config = run_config(tmp_path)
    deliver(tmp_path, 1)
    outbox = tmp_path / "outbox"
    with worker_process(config):
        assert acknowledged(tmp_path, 1)
        outbox.rename(tmp_path / "outbox.kept")
        outbox.write_text("a file where the folder was: nothing can be written")
        deliver(tmp_path, 2)
        time.sleep(10)
        outbox.unlink()
        (tmp_path / "outbox.kept").rename(outbox)
        assert acknowledged(tmp_path, 3, timeout=90)
        assert recovered(tmp_path, timeout=90)
    assert_whole(tmp_path, config, 3)
    [failure] = [m for m in sent(outbox) if m["X-Mailbot-Template"] == "job_failure"]
    assert "no mail could be sent" in failure.get_body(("plain",)).get_content()


def test_postgresql_gone_for_ten_seconds(tmp_path):
    schema_url = next(urls := postgres_schema_url())
    proxy = TcpProxy(make_url(schema_url).port or 5432)
    proxy.start()
    try:
        url = make_url(schema_url).set(port=proxy.port).render_as_string(hide_password=False)
        config = run_config(tmp_path, url)
        deliver(tmp_path, 1)
        with worker_process(config):
            assert acknowledged(tmp_path, 1)
            proxy.stop()  # the server is gone: connections cut, new ones refused
            deliver(tmp_path, 2)
            time.sleep(10)
            proxy.start()
            assert acknowledged(tmp_path, 3)
            assert recovered(tmp_path)
        assert_whole(tmp_path, config, 3)
    finally:
        proxy.stop()
        next(urls, None)  # drops the schema


def test_dovecot_restarted_during_idle(tmp_path, tls_certificate):
    servers = _dovecot(tls_certificate)
    dovecot = next(servers)
    try:
        account = dovecot.add_user()
        config = run_config(tmp_path)
        imap = (f'kind = "imap"\nhost = "127.0.0.1"\nport = {dovecot.port}\nsecurity = "none"\n'
                f'username = "{account.username}"\npassword_env = "DRILL_PASSWORD"')
        config.write_text(config.read_text().replace('kind = "maildir"\npath = "maildir/bury"', imap))
        dovecot.append(account, referral_email("bsp@bury.test", datetime.now(LONDON)))
        with worker_process(config, DRILL_PASSWORD=account.password):
            assert acknowledged(tmp_path, 1)
            time.sleep(1)  # the watcher is in IDLE now
            dovecot.restart()
            dovecot.append(account, referral_email("bsp@bury.test", datetime.now(LONDON)))
            assert acknowledged(tmp_path, 2)
            time.sleep(2)  # a recovery notice, if a failure was told, has gone too
        # The IMAP adapter reconnects by itself after a BYE: a restart it absorbs within
        # seconds is not worth a notice, and one it does not absorb is told once.
        assert_whole(tmp_path, config, 2, told=None)
    finally:
        next(servers, None)
