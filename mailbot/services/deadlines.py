"""Use case: the deadline pass. Every open case whose next chase point has come is chased.

The store finds the due cases by index (``next_chase_at``), so the pass costs the same
with ten thousand open cases as with ten. Each case is chased in its own unit of work:
one failing case is logged and skipped, and never holds back the others.
"""

from __future__ import annotations

import logging
from datetime import datetime

from mailbot.services import outgoing
from mailbot.services.context import Services

log = logging.getLogger(__name__)


def run_deadline_pass(services: Services, now: datetime) -> int:
    """Queues every chaser, follow-on and overdue notice due as of ``now``; returns the count."""
    with services.uow_factory() as uow:
        due = uow.cases.due_for_chasing(now)
    queued = 0
    for reference in due:
        try:
            queued += _chase_one(services, reference, now)
        except Exception:  # one case's failure must not stop the others' chasers
            log.exception("deadline pass failed for case %s", reference)
    log.info("deadline pass as of %s: %d case(s) due, %d email(s) queued", now.isoformat(),
             len(due), queued)
    return queued


def _chase_one(services: Services, reference: str, now: datetime) -> int:
    with services.uow_factory() as uow:
        case = uow.cases.get(reference)
        if case is None:
            return 0
        mailbox = services.for_policy(case.policy_key)
        notices = mailbox.engine.chase(case, now)
        uow.cases.save(case)
        queued = outgoing.queue_for(services, uow, mailbox, notices, case, now)
        uow.commit()
    return queued
