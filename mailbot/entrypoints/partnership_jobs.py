"""The partnership's scheduled jobs in `mailbot run`: the weekly digest and daily retention.

The digest job runs every few minutes and queues a digest only when a mailbox's slot has
come and that week's digest is not yet queued (``services.digest``), so a restart or a
second worker never sends it twice; it then sends at once. Retention runs once a day, the
first time shortly after the worker starts. Both read the configuration here, so the
one-shot commands (`mailbot digest`, `mailbot retention run`) read it the same way.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Protocol

from apscheduler.schedulers.base import BaseScheduler

from mailbot.bootstrap import App
from mailbot.domain.digest import WEEKDAYS, DigestSchedule
from mailbot.services.digest import queue_weekly_digests
from mailbot.services.retention import RetentionPeriods, anonymise_expired, erase_unlinked_mail

log = logging.getLogger(__name__)

DIGEST_CHECK_MINUTES = 10
RETENTION_EVERY_HOURS = 24
RETENTION_FIRST_AFTER = timedelta(minutes=2)  # not in the rush of a worker's first minute


class _Worker(Protocol):
    app: App
    now: Callable[[], datetime]
    scheduler: BaseScheduler

    def send(self) -> None: ...
    def guarded(self, job: str, run: Callable[[], None]) -> Callable[[], None]: ...


def digest_schedules(app: App) -> dict[str, DigestSchedule]:
    return {name: DigestSchedule(m.digest.enabled, WEEKDAYS.index(m.digest.day), m.digest.hour)
            for name, m in app.mailbox_settings.items()}


def retention_periods(app: App) -> RetentionPeriods:
    default = app.settings.retention.years
    return RetentionPeriods({m.policy: m.retention_years or default
                             for m in app.mailbox_settings.values()}, default)


def add_partnership_jobs(worker: _Worker) -> None:
    """Registers the digest and retention jobs on the worker's scheduler."""
    app, now = worker.app, worker.now
    started = datetime.now(worker.scheduler.timezone)

    def digest() -> None:
        if queue_weekly_digests(app.services, digest_schedules(app), now()):
            worker.send()

    def retention() -> None:
        anonymise_expired(app.services, retention_periods(app), now())
        erase_unlinked_mail(app.services, app.settings.retention.unlinked_mail_days, now())

    worker.scheduler.add_job(worker.guarded("weekly-digest", digest), "interval",
                             minutes=DIGEST_CHECK_MINUTES, id="weekly-digest", max_instances=1,
                             coalesce=True, next_run_time=started)
    worker.scheduler.add_job(worker.guarded("retention", retention), "interval",
                             hours=RETENTION_EVERY_HOURS, id="retention", max_instances=1,
                             coalesce=True, next_run_time=started + RETENTION_FIRST_AFTER)
