"""`mailbot run`: the long-running worker.

Each mailbox has its own watcher thread that drains the mailbox, sends what that queued
(so an acknowledgement leaves within seconds), then waits in IMAP IDLE (or sleeps, for
Maildir) until something arrives. APScheduler runs the deadline pass and the send job on
intervals, one instance of each at a time. Nothing ends a watcher or a job but a stop: any
error in one (expected or not) is logged, reported to the business managers once (and its
recovery once), and retried after a back-off, while the others carry on
(``supervision.py``). SIGTERM and SIGINT stop everything cleanly.

Several workers may share one PostgreSQL database: each watches only the mailboxes whose
lease it holds, and runs the deadline pass only while it holds that lease (``LeaseKeeper``);
every worker sends, and the outbox's claims give each message to one of them.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable
from datetime import datetime

from apscheduler.schedulers.background import BackgroundScheduler

from mailbot.bootstrap import App
from mailbot.domain.errors import MailbotError
from mailbot.entrypoints.lease_keeper import LeaseKeeper
from mailbot.entrypoints.partnership_jobs import add_partnership_jobs
from mailbot.entrypoints.passes import send_all
from mailbot.entrypoints.supervision import Supervision, WatchedMailer
from mailbot.services.deadlines import run_deadline_pass
from mailbot.services.health import record_deadline_pass
from mailbot.services.polling import drain_mailbox

log = logging.getLogger(__name__)

WAIT_SLICE_SECONDS = 5.0  # how long one IDLE or sleep lasts: bounds how long a stop takes
MAX_BACKOFF_SECONDS = 300.0


class Worker:
    def __init__(self, app: App, now: Callable[[], datetime]):
        self.app, self.now = app, now
        self.stopping = threading.Event()
        self.send_lock = threading.Lock()  # the send job and the watchers never send at once
        self.chase_lock = threading.Lock()
        self.scheduler = BackgroundScheduler(timezone=app.settings.timezone)
        self.health = Supervision(app.services, now)
        self.mailer = app.mailer = WatchedMailer(app.mailer)
        self.backoff: dict[str, float] = {}  # each watcher's next wait after a failure
        self.leases = LeaseKeeper(app.services, list(app.services.mailboxes),
                                  app.settings.worker.lease_seconds, self.stopping)
        self.leases.on_deadline_pass = self._chase_now  # taken over: chase without waiting

    def send(self) -> None:
        """Sends what is queued; a failure is the send job's, reported as such, never the
        caller's (a watcher that just drained its mailbox carries on watching it)."""
        self.health.run_job("send", self._send_now)

    def _send_now(self) -> bool:
        with self.send_lock:
            return self.mailer.watch_pass(lambda: send_all(self.app, self.now))

    def chase(self) -> None:
        if not self.leases.holds_deadline_pass():
            return  # another worker holds the deadline pass
        if not self.chase_lock.acquire(blocking=False):
            return  # the scheduled pass and a takeover's pass met: one is enough
        try:
            run_deadline_pass(self.app.services, self.now())
            record_deadline_pass(self.app.services, self.now())
        finally:
            self.chase_lock.release()
        self.send()

    def _chase_now(self) -> None:
        if self.scheduler.running:
            self.scheduler.add_job(self.guarded("deadline-pass", self.chase),
                                   id="deadline-pass-now", replace_existing=True)

    def guarded(self, job: str, run: Callable[[], object]) -> Callable[[], None]:
        """A scheduled job that never raises: its errors are logged and reported once, and
        its interval is its back-off."""
        return lambda: self.health.run_job(job, run)

    def watch(self, name: str) -> None:
        """Drain, send, wait; after any failure at all, report it once, back off and start
        again: nothing but a stop ends a watcher."""
        context = self.app.services.mailboxes[name]
        settings = self.app.mailbox_settings[name]
        self.backoff[name] = 1.0
        while not self.stopping.is_set():
            if not self.leases.wait_for_mailbox(name, WAIT_SLICE_SECONDS):
                continue  # another worker watches it; this one takes over if that one dies
            try:
                mailbox = self.app.open_mailbox(name)
                try:
                    self._watch_open(name, context, mailbox, settings.poll_seconds)
                finally:
                    mailbox.close()
            except Exception as error:  # noqa: BLE001 - the watcher's supervision boundary
                backoff = self.backoff[name]
                if isinstance(error, MailbotError):
                    log.error("mailbox %s failed, retrying in %.0fs: %s", name, backoff, error)
                else:
                    log.exception("mailbox %s: unexpected error, retrying in %.0fs", name, backoff)
                self.health.mailbox_failed(context, error)
                self.stopping.wait(backoff)
                self.backoff[name] = min(backoff * 2, MAX_BACKOFF_SECONDS)

    def _watch_open(self, name, context, mailbox, poll_seconds: float) -> None:
        while not self.stopping.is_set() and self.leases.holds_mailbox(name):
            if drain_mailbox(self.app.services, context, mailbox, self.now):
                self.send()
            self.health.mailbox_works(context)
            self.backoff[name] = 1.0
            mailbox.wait_for_new(min(poll_seconds, WAIT_SLICE_SECONDS))

    def start(self) -> list[threading.Thread]:
        worker = self.app.settings.worker
        self.scheduler.add_job(self.guarded("deadline-pass", self.chase), "interval",
                               minutes=worker.chase_every_minutes,
                               id="deadline-pass", max_instances=1, coalesce=True,
                               next_run_time=datetime.now(self.scheduler.timezone))
        self.leases.start()
        self.scheduler.add_job(self.send, "interval", seconds=worker.send_every_seconds,
                               id="send", max_instances=1, coalesce=True)
        add_partnership_jobs(self)  # the weekly digest and daily retention
        self.scheduler.start()
        threads = [threading.Thread(target=self.watch, args=(name,), name=f"watch-{name}",
                                    daemon=True) for name in self.app.services.mailboxes]
        for thread in threads:
            thread.start()
        return threads

    def stop(self) -> None:
        self.stopping.set()


def run_worker(app: App, now: Callable[[], datetime], fixed_clock: bool = False) -> int:
    from mailbot.entrypoints.startup import log_start

    log_start(app)
    worker = Worker(app, now)

    def on_signal(signum, frame):
        log.info("signal %s received: stopping", signum)
        worker.stop()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    threads = worker.start()
    log.info("worker started: %d mailbox(es)%s", len(threads), " (fixed clock)" if fixed_clock else "")
    while not worker.stopping.is_set():
        worker.stopping.wait(1.0)
    worker.scheduler.shutdown(wait=True)
    for thread in threads:
        thread.join(timeout=WAIT_SLICE_SECONDS * 2)
    worker.leases.let_go()
    log.info("worker stopped")
    return 0
