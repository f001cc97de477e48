"""Use case: the deadline pass. Every open case whose next chase point has come is chased.

The store finds the due cases by index (``next_chase_at``), so the pass costs the same
with ten thousand open cases as with ten. Due cases are chased a chunk at a time in one
transaction (their rows read in two statements, one commit), each case in a savepoint of its
own: one failing case is undone, logged and skipped, and never holds back the others. A
commit per case had made the pass about four times slower (issue 19).
"""

from __future__ import annotations

import logging
import time
from datetime import datetime

from mailbot.services import outgoing
from mailbot.services.context import Services
from mailbot.services.ports import UnitOfWork

log = logging.getLogger(__name__)
CHUNK = 100  # cases a transaction: one commit each, and the write lock never held for long
CHUNK_SECONDS = 0.25  # ... and committed after this long whatever its size: progress on a slow day


def run_deadline_pass(services: Services, now: datetime) -> int:
    """Queues every chaser, follow-on and overdue notice due as of ``now``; returns the count."""
    with services.uow_factory() as uow:
        due = uow.cases.due_for_chasing(now)
    queued = position = 0
    while position < len(due):
        chunk = due[position:position + CHUNK]
        try:
            chased, mail = _chase_chunk(services, chunk, now)
        except Exception:  # the database failed the whole chunk; the next pass tries again
            log.exception("deadline pass failed for cases %s to %s", chunk[0], chunk[-1])
            chased, mail = len(chunk), 0
        position, queued = position + chased, queued + mail
    log.info("deadline pass as of %s: %d case(s) due, %d email(s) queued", now.isoformat(),
             len(due), queued)
    return queued


def _chase_chunk(services: Services, references: list[str],
                 now: datetime) -> tuple[int, int]:
    """Chases the first of ``references`` in one transaction: (how many, emails queued)."""
    queued = chased = 0
    commit_by = time.monotonic() + CHUNK_SECONDS
    with services.uow_factory() as uow:
        uow.cases.get_many(references)
        for reference in references:
            if chased and time.monotonic() > commit_by:
                break
            chased += 1
            try:
                with uow.savepoint():
                    queued += _chase_one(services, uow, reference, now)
            except Exception:  # one case's failure must not stop the others' chasers
                log.exception("deadline pass failed for case %s", reference)
        uow.commit()
    return chased, queued


def _chase_one(services: Services, uow: UnitOfWork, reference: str, now: datetime) -> int:
    case = uow.cases.get(reference)
    if case is None:
        return 0
    mailbox = services.for_policy(case.policy_key)
    notices = mailbox.engine.chase(case, now)
    uow.cases.save(case)
    return outgoing.queue_for(services, uow, mailbox, notices, case, now)
