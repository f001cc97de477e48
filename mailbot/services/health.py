"""Use cases: the worker's own health, kept in the database so `mailbot status` (another
process) can read it and a restarted worker does not report the same trouble twice.

A mailbox's failures are reported by ``polling.report_mailbox_health``; a scheduled job's
(the deadline pass, the send pass, the digest, retention) by ``report_job_health``, to the
business managers of every partnership, once when it starts failing and once when it
recovers. ``read_status`` gathers what `mailbot status` prints.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from mailbot.domain.notices import Notice, Template
from mailbot.domain.referral import Person
from mailbot.domain.service_notice_contexts import JobAlert
from mailbot.services.context import MailboxContext, Services
from mailbot.services.messaging import queue_notices
from mailbot.services.ports import UnitOfWork

log = logging.getLogger(__name__)

LAST_POLL = "mailbox-last-poll:"
MAILBOX_HEALTH = "mailbox-health:"
JOB_HEALTH = "job-health:"
DEADLINE_PASS_RAN = "deadline-pass:last-run"


def record_poll(services: Services, mailbox: str, now: datetime) -> None:
    """The mailbox was drained without trouble at ``now``."""
    _set(services, LAST_POLL + mailbox, now.isoformat())


def record_polls(services: Services, moments: Mapping[str, datetime]) -> None:
    """Each mailbox was drained without trouble at its moment: all written in one transaction
    (a worker watching 150 mailboxes would otherwise commit one a mailbox every minute)."""
    with services.uow_factory() as uow:
        for mailbox, moment in moments.items():
            uow.state.set(LAST_POLL + mailbox, moment.isoformat())
        uow.commit()


def record_deadline_pass(services: Services, now: datetime) -> None:
    _set(services, DEADLINE_PASS_RAN, now.isoformat())


def _set(services: Services, key: str, value: str) -> None:
    with services.uow_factory() as uow:
        uow.state.set(key, value)
        uow.commit()


def report_job_health(services: Services, job: str, now: datetime, problem: str) -> None:
    """Tells every partnership's business managers when a job starts failing, and when it
    works again; nothing when its health has not changed."""
    key = JOB_HEALTH + job
    with services.uow_factory() as uow:
        was = uow.state.get(key) or ""
        if bool(problem) == bool(was):
            return
        uow.state.set(key, problem)
        template = Template.JOB_FAILURE if problem else Template.JOB_RECOVERED
        for context in services.mailboxes.values():
            notice = Notice(template, context.partnership.business_managers,
                            key=f"{job}@{now:%Y%m%dT%H%M%S}",
                            context=JobAlert(job=job, error=problem or was))
            queue_notices(uow, services.composer, [notice], case=None, policy=context.policy,
                          sender=Person(context.policy.name, context.address), now=now)
        uow.commit()
    log.log(logging.ERROR if problem else logging.INFO, "job %s %s", job,
            f"failing, business managers told: {problem}" if problem else "working again")


@dataclass(frozen=True)
class MailboxHealth:
    name: str
    last_poll: datetime | None
    problem: str  # the mailbox's failure, "" when it works
    waiting: int  # stored, not yet acted on
    quarantined: int
    queued: int
    failed: int

    @property
    def problems(self) -> list[str]:
        found = [f"failing: {self.problem}"] if self.problem else []
        if self.quarantined:
            found.append(f"{self.quarantined} message(s) quarantined")
        if self.failed:
            found.append(f"{self.failed} outgoing message(s) failed")
        return found


@dataclass(frozen=True)
class Status:
    mailboxes: list[MailboxHealth]
    deadline_pass: datetime | None
    deadline_pass_late: bool
    jobs: dict[str, str]  # failing jobs and why

    @property
    def healthy(self) -> bool:
        return not (self.deadline_pass_late or self.jobs
                    or any(m.problems for m in self.mailboxes))


def read_status(services: Services, now: datetime, chase_every: timedelta) -> Status:
    """Each mailbox's health, and whether the deadline pass ran within twice its interval."""
    with services.uow_factory() as uow:
        mailboxes = [_mailbox_health(uow, context) for context in services.mailboxes.values()]
        ran = _when(uow.state.get(DEADLINE_PASS_RAN))
        jobs = {job: problem for job in ("database", "deadline-pass", "send", "weekly-digest", "retention")
                if (problem := uow.state.get(JOB_HEALTH + job))}
    late = ran is None or now - ran > 2 * chase_every
    return Status(mailboxes, ran, late, jobs)


def _mailbox_health(uow: UnitOfWork, context: MailboxContext) -> MailboxHealth:
    inbound = uow.upkeep.inbound_counts(context.name)
    outgoing = uow.upkeep.outgoing_counts(context.address)
    return MailboxHealth(context.name, _when(uow.state.get(LAST_POLL + context.name)),
                         uow.state.get(MAILBOX_HEALTH + context.name) or "",
                         inbound.get("received", 0), inbound.get("quarantined", 0),
                         outgoing.get("queued", 0), outgoing.get("failed", 0))


def _when(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None
