"""Waiting for mail on IMAP with 150 mailboxes in mind (issue 19): an IDLE outlives the wait
that began it, so a quiet mailbox costs no command between looks; a quiet watcher wakes only
for its look (or push), and a stop interrupts it at once; and a mailbox whose server never
pushes (Dovecot past its inotify limit) still has its mail acted on, found by the worker's
periodic look."""

from __future__ import annotations

import logging
import re
import threading
import time
from datetime import datetime
from pathlib import Path

import pytest

from mailbot.adapters.imap_mailbox import ImapMailbox
from mailbot.bootstrap import bootstrap
from mailbot.config import load_settings
from mailbot.domain.working_days import LONDON
from mailbot.entrypoints.demo import referral_email
from mailbot.entrypoints.worker import Worker
from tests.integration.mailbox_worlds import ImapWorld, message
from tests.servers.no_push import NoPushRelay

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=LONDON)


def _commands(caplog) -> list[str]:
    sent = re.compile(r"> b'\w+ (\w+)")
    return [found.group(1) for record in caplog.records
            if (found := sent.search(record.getMessage()))]


@pytest.fixture
def world(dovecot):
    made = ImapWorld(dovecot)
    yield made
    made.close()


def test_wait_slices_resume_one_idle_without_a_command_and_push_still_wakes(world, caplog):
    adapter = world.open()
    assert adapter.fetch_new() == []
    with caplog.at_level(logging.DEBUG, logger="imapclient"):
        for _ in range(6):  # past the first look a second into the IDLE
            assert adapter.wait_for_new(0.3) is False
        before = len(_commands(caplog))
        for _ in range(5):
            assert adapter.wait_for_new(0.2) is False
        assert _commands(caplog)[before:] == [], "a quiet wait slice sent commands"
        world.deliver(message(1))
        assert adapter.wait_for_new(10) is True
    assert [raw.data for raw in adapter.fetch_new()] == [message(1)]


def test_a_mailbox_without_push_has_its_mail_acted_on_by_the_periodic_look(dovecot, tmp_path,
                                                                             monkeypatch):
    account = dovecot.add_user()
    relay = NoPushRelay(dovecot.port)
    relay.start()
    app = _bury_on_imap(tmp_path, monkeypatch, relay.port, account, poll_seconds=2)
    worker = Worker(app, lambda: NOW)
    threads = worker.start()
    try:
        # SELECT's "* 0 EXISTS" is the first line swallowed: the watcher is in, and IDLE next.
        _wait_for(lambda: relay.swallowed > 0, "the watcher to open the mailbox")
        time.sleep(1.5)
        dovecot.append(account, referral_email("bsp@bury.test", NOW))
        _wait_for(lambda: _cases(app) == 1, "the referral to be acted on")
    finally:
        _stop(worker, threads)
        relay.stop()
    assert relay.swallowed > 0, "the relay let push through: this test proves nothing"


def test_a_quiet_watcher_wakes_only_for_its_look_and_a_stop_ends_every_wait_at_once(
        dovecot, tmp_path, monkeypatch):
    """150 watchers each woken every 5 s only to wait again cost about half the worker's CPU
    at rest; the wait now lasts until the look, and the stop no longer needs it short."""
    account = dovecot.add_user()
    waits: list[float] = []
    real_wait = ImapMailbox.wait_for_new

    def counted_wait(self, timeout: float) -> bool:
        waits.append(timeout)
        return real_wait(self, timeout)

    monkeypatch.setattr(ImapMailbox, "wait_for_new", counted_wait)
    app = _bury_on_imap(tmp_path, monkeypatch, dovecot.port, account, poll_seconds=600,
                        more=MAILDIR_HACKNEY)
    worker = Worker(app, lambda: NOW)
    threads = worker.start()
    try:
        _wait_for(lambda: waits, "the watcher to wait")
        time.sleep(6.5)  # past the 4 to 6 s slices a quiet watcher used to wake after
        assert len(waits) == 1, f"a quiet watcher woke before its look: {waits}"
        assert waits[0] > 400, "it waits until its look, 600 s give or take a fifth"
    finally:
        started = time.monotonic()
        _stop(worker, threads)
        stopped = time.monotonic() - started
    assert not any(thread.is_alive() for thread in threads)
    assert stopped < 3, f"the stop took {stopped:.1f} s: it waited out a wait"


MAILDIR_HACKNEY = """
[[mailbox]]
name = "hackney"
address = "chscp@hackney.test"
policy = "hackney"
kind = "maildir"
path = "maildir/hackney"
poll_seconds = 600
business_managers = ["manager@hackney.test"]
sender_trust = "none"
"""


def _bury_on_imap(tmp_path: Path, monkeypatch, port: int, account, *, poll_seconds: float,
                  more: str = ""):
    """The app of a config whose Bury mailbox is ``account`` on IMAP at ``port``."""
    monkeypatch.setenv("W18_MAILBOX_PASSWORD", account.password)
    (tmp_path / "config.toml").write_text(f"""
[database]
url = "sqlite:///mailbot.sqlite3"
[outgoing]
kind = "directory"
directory = "outbox"
[[mailbox]]
name = "bury"
address = "bsp@bury.test"
policy = "bury"
kind = "imap"
host = "127.0.0.1"
port = {port}
security = "none"
username = "{account.username}"
password_env = "W18_MAILBOX_PASSWORD"
poll_seconds = {poll_seconds}
business_managers = ["manager@bury.test"]
sender_trust = "none"
{more}""")
    return bootstrap(load_settings(tmp_path / "config.toml"))


def _stop(worker: Worker, threads: list[threading.Thread]) -> None:
    worker.stop()
    worker.scheduler.shutdown(wait=True)
    for thread in threads:
        thread.join(timeout=30)
    assert not [t.name for t in threads if t.is_alive()], "a watcher outlived its stop"


def _cases(app) -> int:
    with app.services.uow_factory() as uow:
        return len(uow.cases.summaries())


def _wait_for(predicate, what: str, timeout: float = 60.0) -> None:
    done = threading.Event()
    timer = threading.Timer(timeout, done.set)
    timer.start()
    try:
        while not predicate():
            if done.wait(0.1):
                pytest.fail(f"timed out waiting for {what}")
    finally:
        timer.cancel()
