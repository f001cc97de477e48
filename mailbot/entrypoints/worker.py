"""`mailbot run`: the long-running worker.

Each mailbox has its own watcher thread that waits in IMAP IDLE (or polls, for Maildir and
servers without IDLE) until something arrives, then takes a turn (``turns``): it acts on at
most ``worker.slice_messages`` messages, sends what that queued (so an acknowledgement leaves
within seconds), and queues again while mail is left, so a backlog in one mailbox is taken in
slices between other mailboxes' mail. Besides push, every watcher looks for mail every
``poll_seconds`` (jittered), which is all a mailbox gets when the server's push fails it
(Dovecot past its inotify limit). A quiet watcher sleeps until that look: 150 watchers
waking every few seconds only to wait again cost more than all their looks together. Looks
are jittered, so the watchers do not wake in the same instant, and a stop interrupts every
wait (``Mailbox.interrupt``) rather than waiting for it to end. APScheduler runs the deadline
pass and the send job on intervals, one instance of each at a time. Nothing ends a watcher or
a job but a stop: any error in one (expected or not) is logged, reported to the business
managers once (and its recovery once), and retried after a jittered back-off, while the others
carry on (``supervision.py``). SIGTERM and SIGINT stop everything cleanly.

Several workers may share one PostgreSQL database: each watches only the mailboxes whose
lease it holds, and runs the deadline pass only while it holds that lease (``LeaseKeeper``);
every worker sends, and the outbox's claims give each message to one of them.
"""

from __future__ import annotations

import logging
import random
import signal
import threading
import time
from collections.abc import Callable
from datetime import datetime

from apscheduler.schedulers.background import BackgroundScheduler

from mailbot.bootstrap import App
from mailbot.domain.errors import MailbotError
from mailbot.entrypoints.lease_keeper import LeaseKeeper
from mailbot.entrypoints.partnership_jobs import add_partnership_jobs
from mailbot.entrypoints.passes import send_all
from mailbot.entrypoints.supervision import Supervision, WatchedMailer
from mailbot.entrypoints.turns import Turns, spread
from mailbot.services.deadlines import run_deadline_pass
from mailbot.services.health import record_deadline_pass
from mailbot.services.polling import take_waiting
from mailbot.services.ports import Mailbox

log = logging.getLogger(__name__)

MAX_BACKOFF_SECONDS = 300.0
STOP_GRACE_SECONDS = 10.0  # how long a stop waits for a watcher to finish what it is doing


class Worker:
    def __init__(self, app: App, now: Callable[[], datetime]):
        self.app, self.now = app, now
        self.stopping = threading.Event()
        self.send_lock = threading.Lock()  # the send job and the watchers never send at once
        self.chase_lock = threading.Lock()
        self.turns = Turns(app.settings.worker.acting_at_once)
        self.scheduler = BackgroundScheduler(timezone=app.settings.timezone)
        self.health = Supervision(app.services, now)
        self.mailer = app.mailer = WatchedMailer(app.mailer)
        self.backoff: dict[str, float] = {}  # each watcher's next wait after a failure
        # The watchers' open mailboxes, for a stop to wake. No lock: stop runs in a signal
        # handler, which a second signal could re-enter; a dict's one-step updates and its
        # copy are atomic.
        self._open: dict[str, Mailbox] = {}
        self.leases = LeaseKeeper(app.services, list(app.services.mailboxes),
                                  app.settings.worker.lease_seconds, self.stopping)
        self.leases.on_deadline_pass = self._chase_now  # taken over: chase without waiting

    def send(self, sender: str | None = None) -> None:
        """Sends the due mail; a watcher sends only its own mailbox's, so a referral's
        acknowledgement does not queue behind what another mailbox's backlog queued. A failure
        is the send job's, reported as such, never the caller's (a watcher that just acted on
        its mail carries on watching)."""
        self.health.run_job("send", lambda: self._send_now(sender))

    def _send_now(self, sender: str | None) -> bool:
        with self.send_lock:  # a stop ends the pass at its next batch of claims
            return self.mailer.watch_pass(lambda: send_all(self.app, self.now, sender,
                                                           stopping=self.stopping.is_set))

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
            if not self.leases.wait_for_mailbox(name, settings.poll_seconds):
                continue  # another worker watches it; this one takes over if that one dies
            try:
                mailbox = self.app.open_mailbox(name)
                try:
                    self._open[name] = mailbox
                    self._watch_open(name, context, mailbox, settings.poll_seconds)
                finally:
                    del self._open[name]
                    mailbox.close()
            except Exception as error:  # noqa: BLE001 - the watcher's supervision boundary
                # Jittered, so mailboxes that failed together (a server restart) come back apart.
                delay = random.uniform(0.5, 1.0) * self.backoff[name]
                if isinstance(error, MailbotError):
                    log.error("mailbox %s failed, retrying in %.0fs: %s", name, delay, error)
                else:
                    log.exception("mailbox %s: unexpected error, retrying in %.0fs", name, delay)
                self.health.mailbox_failed(context, error)
                self.stopping.wait(delay)
                self.backoff[name] = min(self.backoff[name] * 2, MAX_BACKOFF_SECONDS)

    def _watch_open(self, name, context, mailbox, poll_seconds: float) -> None:
        slice_messages = self.app.settings.worker.slice_messages
        look = True  # on (re)opening: mail may have come while nobody watched
        leftovers = True  # and a pass that died may have stored mail it did not act on
        next_look = 0.0
        while not self.stopping.is_set() and self.leases.holds_mailbox(name):
            if look or time.monotonic() >= next_look:
                with self.turns.turn():
                    if self.stopping.is_set():
                        return
                    taken = take_waiting(self.app.services, context, mailbox, self.now,
                                         batch=slice_messages, limit=slice_messages,
                                         leftovers=leftovers)
                leftovers = False
                next_look = time.monotonic() + spread(poll_seconds)
                if taken.handled:
                    self.send(context.address)
                self.health.mailbox_works(context)
                self.backoff[name] = 1.0
                if taken.more:
                    continue  # mail left: queue for another turn behind the others waiting
            # Until the next look: push (or a stop's interrupt) ends the wait sooner. Without
            # push there is nothing to wake for before then either.
            look = mailbox.wait_for_new(max(next_look - time.monotonic(), 0.01))

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
        """Ends every wait at once; a watcher busy with mail finishes its turn first. Safe to
        call from a signal handler: it only sets events and shuts sockets."""
        self.stopping.set()
        for mailbox in list(self._open.values()):  # one opened later sees ``stopping`` first
            mailbox.interrupt()
        self.leases.wake_waiters()


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
        thread.join(timeout=STOP_GRACE_SECONDS)
    worker.leases.let_go()
    log.info("worker stopped")
    return 0
