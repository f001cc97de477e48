"""The worker's supervision: what happens when a watcher or a job fails.

Each failure is reported to the business managers once, and its recovery once; the state
that remembers this is in the database (``mailbox-health:`` and ``job-health:`` keys), so a
restarted worker does not report it again. When the report itself cannot be stored (the
database is the trouble), the failure is remembered here and reported, with its recovery,
as soon as the database answers again: the business managers are told of every outage,
once. The database's own trouble is one fault, reported once as "database", however many
watchers and jobs meet it. Health is read from the database only when it may have changed.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime

from mailbot.domain.errors import MailbotError, TransientError, is_database_trouble
from mailbot.services.context import MailboxContext, Services
from mailbot.services.health import record_polls, report_job_health
from mailbot.services.polling import report_mailbox_health
from mailbot.services.ports import Mailer, OutgoingEmail

log = logging.getLogger(__name__)

# How often the mailboxes' "last good poll" times are written: all of them together, in one
# transaction, and a mailbox's first at once.
POLL_RECORD_SECONDS = 60.0


def describe(error: BaseException) -> str:
    """One line for a person: our own errors say what went wrong; others need their type."""
    text = " ".join(str(error).split())
    return text if isinstance(error, MailbotError) and text else f"{type(error).__name__}: {text}"


class Supervision:
    def __init__(self, services: Services, now: Callable[[], datetime]):
        self.services, self.now = services, now
        self._lock = threading.Lock()
        self._healthy: dict[str, bool] = {}  # what was last stored, by state key
        self._unreported: dict[str, tuple[str, datetime]] = {}  # key -> (problem, since)
        self._good_polls: dict[str, datetime] = {}  # not yet written, by mailbox name
        self._polls_recorded: set[str] = set()
        self._polls_due = 0.0  # time.monotonic() at which those waiting are written
        # One thread at a time tells of a key's failure or recovery: two threads meeting the
        # end of one outage had both told its untold failure (the second after the first had
        # told the recovery), so the managers heard of it twice.
        self._telling: dict[str, threading.Lock] = {}

    # --- mailboxes ------------------------------------------------------------------------

    def mailbox_failed(self, context: MailboxContext, error: BaseException) -> None:
        if is_database_trouble(error):
            return self.database_failed(error)
        key, problem = "mailbox:" + context.name, describe(error)
        if self._healthy.get(key) is False:
            return
        self._store(key, problem, lambda when: report_mailbox_health(self.services, context, when,
                                                                      problem=problem))

    def mailbox_works(self, context: MailboxContext) -> None:
        self.database_works()
        key = "mailbox:" + context.name
        if self._healthy.get(key) is not True:
            self._recovered(key, lambda when, problem: report_mailbox_health(
                self.services, context, when, problem=problem))
        self._poll_worked(context.name, self.now())

    def _poll_worked(self, name: str, when: datetime) -> None:
        with self._lock:
            self._good_polls[name] = when
            if name in self._polls_recorded and time.monotonic() < self._polls_due:
                return
            waiting, self._good_polls = self._good_polls, {}
            self._polls_due = time.monotonic() + POLL_RECORD_SECONDS
        if self._quietly(lambda: record_polls(self.services, waiting)):
            with self._lock:
                self._polls_recorded.update(waiting)
        else:  # tried again with the next one; a newer time for a mailbox wins
            with self._lock:
                self._good_polls = {**waiting, **self._good_polls}

    # --- jobs -----------------------------------------------------------------------------

    def run_job(self, job: str, run: Callable[[], object]) -> None:
        """Runs one job; never raises. Its next turn on the schedule is its retry. A job that
        returns False learnt nothing of its health (a send pass with nothing to send): a
        failing job is not taken to have recovered by it."""
        key = "job:" + job
        try:
            outcome = run()
        except Exception as error:  # noqa: BLE001 - the job's supervision boundary
            if is_database_trouble(error):
                log.error("job %s failed; it runs again at its next turn: %s", job, describe(error))
                return self.database_failed(error)
            log.exception("job %s failed; it runs again at its next turn", job)
            if self._healthy.get(key) is not False:
                problem = describe(error)
                self._store(key, problem, lambda when: report_job_health(self.services, job, when,
                                                                          problem))
            return
        self.database_works()
        if outcome is not False and self._healthy.get(key) is not True:
            self._recovered(key, lambda when, problem: report_job_health(self.services, job, when,
                                                                          problem))

    # --- the database ---------------------------------------------------------------------

    def database_failed(self, error: BaseException) -> None:
        if self._healthy.get("job:database") is not False:
            problem = describe(error)
            self._store("job:database", problem,
                        lambda when: report_job_health(self.services, "database", when, problem))

    def database_works(self) -> None:
        if self._healthy.get("job:database") is not True:
            self._recovered("job:database", lambda when, problem: report_job_health(
                self.services, "database", when, problem))

    # --- shared ---------------------------------------------------------------------------

    def _store(self, key: str, problem: str, report: Callable[[datetime], None]) -> None:
        with self._telling_of(key) as alone:
            if not alone or self._healthy.get(key) is False:
                return  # another thread is telling of it, or has told it
            when = self.now()
            if self._quietly(lambda: report(when)):
                with self._lock:
                    self._healthy[key] = False
                    self._unreported.pop(key, None)
            else:  # not stored: failing, as far as anyone else knows nothing yet
                with self._lock:
                    self._healthy.pop(key, None)
                    self._unreported.setdefault(key, (problem, when))

    def _recovered(self, key: str, report: Callable[[datetime, str], None]) -> None:
        with self._telling_of(key) as alone:
            if not alone or self._healthy.get(key) is True:
                return  # another thread is telling of it (the next success tries again)
            with self._lock:
                missed = self._unreported.get(key)
            if missed is not None:  # the failure could not be stored then: tell it now, then this
                problem, since = missed
                if not self._quietly(lambda: report(since, problem)):
                    return
                with self._lock:  # told: not to be told again, even if the recovery cannot be
                    self._unreported.pop(key, None)
                    self._healthy[key] = False
            if self._quietly(lambda: report(self.now(), "")):
                with self._lock:
                    self._healthy[key] = True

    @contextmanager
    def _telling_of(self, key: str) -> Iterator[bool]:
        """Whether this thread may tell of ``key`` now: not while another one does. It does
        not wait for it, so that a watcher is never held up by another's report."""
        with self._lock:
            lock = self._telling.setdefault(key, threading.Lock())
        alone = lock.acquire(blocking=False)
        try:
            yield alone
        finally:
            if alone:
                lock.release()

    @staticmethod
    def _quietly(action: Callable[[], None]) -> bool:
        try:
            action()
        except Exception as error:  # noqa: BLE001 - a report must never take the worker down
            log.warning("could not record the worker's health (will try again): %s", describe(error))
            return False
        return True


class WatchedMailer:
    """The worker's mailer, counting what one send pass delivered and what failed, so that a
    pass in which no mail at all could go (the outbox folder unwritable, the SMTP server
    gone) is the send job failing, reported once, not only rows quietly waiting to retry."""

    def __init__(self, inner: Mailer):
        self.inner = inner
        self.sent = 0
        self.failures: list[str] = []

    def send(self, email: OutgoingEmail) -> None:
        try:
            self.inner.send(email)
        except Exception as error:
            self.failures.append(describe(error))
            raise
        self.sent += 1

    def delivered(self, message_id: str) -> bool:
        """The inner mailer's answer, where it can tell (``sending._delivered_before``)."""
        asked = getattr(self.inner, "delivered", None)
        return bool(asked is not None and asked(message_id))

    def watch_pass(self, send_pass: Callable[[], object]) -> bool:
        """Runs a send pass; False when it tried nothing, so says nothing of the mailer."""
        self.sent, self.failures = 0, []
        send_pass()
        if self.failures and not self.sent:
            raise TransientError(f"no mail could be sent ({len(self.failures)} tried): "
                                 f"{self.failures[-1]}")
        return bool(self.sent)
