"""Use case: the weekly digest to each partnership's business managers.

Run by the worker every few minutes and by `mailbot digest`: for each mailbox whose slot
has come this week and whose digest for that week is not yet queued, the digest is built
and queued in one transaction. It is sent once per partnership per week however many
workers run it, and across restarts: its outbox key is the mailbox and the ISO week, and
the outbox's unique constraint refuses a second copy (a worker that loses the race queues
nothing). A week with nothing open is recorded as handled and sends nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime, timedelta

from mailbot.domain.digest import DigestSchedule, DigestSlot, WeeklyDigest, build_digest, due_slot
from mailbot.domain.notices import Attachment, Notice, Template
from mailbot.domain.referral import Person
from mailbot.domain.service_notice_contexts import DigestFacts
from mailbot.services.context import MailboxContext, Services
from mailbot.services.messaging import queue_notices
from mailbot.services.ports import UnitOfWork

log = logging.getLogger(__name__)


def queue_weekly_digests(services: Services, schedules: Mapping[str, DigestSchedule],
                         now: datetime) -> int:
    """Queues every digest due as of ``now``; returns how many emails were queued."""
    queued = 0
    for name, mailbox in services.mailboxes.items():
        schedule = schedules.get(name, DigestSchedule())
        if not schedule.enabled:
            continue
        try:
            queued += queue_digest(services, mailbox, schedule, now)
        except Exception:  # one partnership's digest must not hold back the others'
            log.exception("weekly digest of mailbox %s failed", name)
    return queued


def queue_digest(services: Services, mailbox: MailboxContext, schedule: DigestSchedule,
                 now: datetime) -> int:
    slot = due_slot(now, schedule, mailbox.engine.calendar)
    if slot is None:
        return 0
    with services.uow_factory() as uow:
        if uow.state.get(_week_key(mailbox)) == slot.week:
            log.debug("weekly digest %s of %s: already done", slot.week, mailbox.name)
            return 0
        digest = _digest(uow, mailbox, slot, now)
        uow.state.set(_week_key(mailbox), slot.week)
        queued = 0
        if digest is not None:
            queued = queue_notices(uow, services.composer, [digest_notice(digest, mailbox)],
                                   case=None, policy=mailbox.policy,
                                   sender=Person(mailbox.policy.name, mailbox.address), now=now)
            uow.state.set(_sent_key(mailbox), now.isoformat())
        uow.commit()
    _log(mailbox, slot, digest, queued)
    return queued


def _digest(uow: UnitOfWork, mailbox: MailboxContext, slot: DigestSlot,
            now: datetime) -> WeeklyDigest | None:
    last = uow.state.get(_sent_key(mailbox))
    since = datetime.fromisoformat(last) if last else slot.at - timedelta(days=7)
    key = mailbox.policy.key
    open_cases = uow.records.open_cases(key)
    changes = uow.records.opened_or_closed(key, since, now) if open_cases else []
    return build_digest(slot, since, open_cases, changes, mailbox.engine, now)


def digest_notice(digest: WeeklyDigest, mailbox: MailboxContext) -> Notice:
    """The digest as a notice; the chart is drawn when it is composed."""
    domain = mailbox.address.rsplit("@", 1)[-1]
    context = DigestFacts(
        week=digest.week, since=digest.since, open_cases=digest.open_cases,
        opened=digest.opened, closed=digest.closed, by_stage=digest.by_stage,
        overdue=digest.overdue,
        chart_cid=f"open-cases-by-stage.{mailbox.name}.{digest.week}@{domain}")
    return Notice(Template.WEEKLY_DIGEST, mailbox.partnership.business_managers,
                  key=f"{mailbox.name}:{digest.week}", context=context,
                  attachments=(Attachment.DIGEST_CHART,))


def _week_key(mailbox: MailboxContext) -> str:
    return f"digest:{mailbox.name}:week"


def _sent_key(mailbox: MailboxContext) -> str:
    return f"digest:{mailbox.name}:sent_at"


def _log(mailbox: MailboxContext, slot: DigestSlot, digest: WeeklyDigest | None,
         queued: int) -> None:
    if digest is None:
        log.info("weekly digest %s of %s: nothing open, none sent", slot.week, mailbox.name)
    else:
        log.info("weekly digest %s of %s: %d open case(s), %d overdue; %d email(s) queued",
                 slot.week, mailbox.name, len(digest.open_cases), digest.overdue, queued)
