"""The worker's leases: which of its mailboxes, and whether the deadline pass, are its to work.

A thread renews them every quarter of ``[worker] lease_seconds`` and writes them to run out
after three quarters of it. A worker that dies has renewed them at most a quarter ago, so
they run out within three quarters of ``lease_seconds`` of its death, and another worker's
next round (a quarter later at most) takes them: the takeover comes within ``lease_seconds``.
The worker's own view of a lease lapses sooner than the database's (half of
``lease_seconds`` after its last renewal), so a worker cut off from the database stops
working a mailbox before anyone else can start. Lease times are the real clock, never
``--now``: a pretended time must not stop leases from running out.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta

from mailbot.domain.errors import MailbotError
from mailbot.services.context import Services
from mailbot.services.leases import DEADLINE_PASS, keep_share, let_go, mailbox_lease

log = logging.getLogger(__name__)


def real_now() -> datetime:
    return datetime.now(UTC)


class LeaseKeeper:
    def __init__(self, services: Services, mailboxes: Sequence[str], lease_seconds: float,
                 stopping: threading.Event, clock: Callable[[], datetime] = real_now):
        self.services, self.mailboxes, self.stopping, self.clock = services, list(mailboxes), stopping, clock
        self.holder = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"[:200]
        self.interval = lease_seconds / 4
        self.valid_for = timedelta(seconds=lease_seconds * 3 / 4)
        self.trust_for = timedelta(seconds=lease_seconds / 2)
        self._held: dict[str, datetime] = {}  # lease name -> until when this worker trusts it
        self._lock = threading.Lock()
        self._gained = {mailbox_lease(name): threading.Event() for name in self.mailboxes}
        self.on_deadline_pass: Callable[[], None] = lambda: None  # called when it becomes ours

    # -- what the watchers and jobs ask ------------------------------------------------------

    def holds_mailbox(self, name: str) -> bool:
        return self._holds(mailbox_lease(name))

    def holds_deadline_pass(self) -> bool:
        return self._holds(DEADLINE_PASS)

    def wait_for_mailbox(self, name: str, timeout: float) -> bool:
        """Waits until this worker holds the mailbox's lease (or ``timeout``)."""
        if self.holds_mailbox(name):
            return True
        event = self._gained[mailbox_lease(name)]
        event.wait(timeout)
        event.clear()
        return self.holds_mailbox(name)

    def wake_waiters(self) -> None:
        """The worker stops: every ``wait_for_mailbox`` under way returns now."""
        for event in self._gained.values():
            event.set()

    def _holds(self, name: str) -> bool:
        with self._lock:
            until = self._held.get(name)
        return until is not None and until > self.clock()

    # -- the rounds ------------------------------------------------------------------------

    def round(self) -> None:
        now = self.clock()
        try:
            held = keep_share(self.services, self.holder, self.mailboxes, now, self.valid_for)
        except MailbotError as error:  # kept until they lapse; the next round tries again
            log.warning("cannot renew this worker's leases: %s", error)
            return
        with self._lock:
            before = set(self._held)
            self._held = {name: now + self.trust_for for name in held}
        for name in sorted(held - before):
            log.info("this worker (%s) now works %s", self.holder, name)
            if name in self._gained:
                self._gained[name].set()
            elif name == DEADLINE_PASS:
                self.on_deadline_pass()
        for name in sorted(before - held):
            log.info("this worker (%s) no longer works %s", self.holder, name)

    def run(self) -> None:
        while not self.stopping.wait(self.interval):
            try:
                self.round()
            except Exception:  # the keeper must outlive any one round's failure
                log.exception("lease round failed")

    def start(self) -> threading.Thread:
        self.round()  # before the watchers start, so the first of them need not wait a round
        thread = threading.Thread(target=self.run, name="leases", daemon=True)
        thread.start()
        return thread

    def let_go(self) -> None:
        """On a clean stop: hands the leases back so another worker takes over at once."""
        with self._lock:
            names, self._held = list(self._held), {}
        try:
            let_go(self.services, self.holder, names)
        except MailbotError as error:
            log.warning("could not hand back this worker's leases (they run out by themselves): %s",
                        error)
