"""Use case: the deadline pass. Every open case whose next chase point has come is chased.

The store finds the due cases by index (``next_chase_at``), so the pass costs the same
with ten thousand open cases as with ten. Due cases are chased a chunk at a time in one
transaction: their rows read in two statements, the addresses already vouched for in one,
the case changes, events and outgoing mail written in one statement of each kind. A commit per
case had made the pass about four times slower, and a savepoint and two writes per case
were half of what was left (issue 19).

One case that fails must not hold back the others, nor be half done. A chunk is first
chased all together; if anything in it fails, nothing of it is kept (the transaction rolls
back) and the chunk is chased again one case at a time, each in a savepoint of its own, so
the failing case alone is undone, logged and skipped. Nothing is queued twice either way:
mail is queued only in the transaction that records the chase.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import datetime

from mailbot.domain.errors import TransientError
from mailbot.services import outgoing
from mailbot.services.context import Services
from mailbot.services.messaging import store_mail_waiting
from mailbot.services.ports import UnitOfWork
from mailbot.services.stored import MailWaiting

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
    try:
        return _chase_in_one_go(services, references, now)
    except TransientError:
        raise  # the database is down or busy: one case at a time would fare no better
    except Exception:  # some case failed: chase them again one by one to find it
        log.warning("deadline pass: chasing cases %s to %s together failed; chasing them one"
                    " at a time", references[0], references[-1], exc_info=True)
    return _chase_one_by_one(services, references, now)


def _chase_in_one_go(services: Services, references: list[str],
                     now: datetime) -> tuple[int, int]:
    with services.uow_factory() as uow:
        uow.cases.get_many(references)
        _look_up_vouched(services, uow, references)
        uow.mail_waiting = MailWaiting()
        chased, queued = _chase_until(references, lambda r: _chase_one(services, uow, r, now))
        queued += store_mail_waiting(uow)  # the chunk's mail in one INSERT
        uow.commit()
    return chased, queued


def _chase_one_by_one(services: Services, references: list[str],
                      now: datetime) -> tuple[int, int]:
    def in_savepoint(reference: str) -> int:
        try:
            with uow.savepoint():
                return _chase_one(services, uow, reference, now)
        except Exception:  # one case's failure must not stop the others' chasers
            log.exception("deadline pass failed for case %s", reference)
            return 0

    with services.uow_factory() as uow:
        uow.cases.get_many(references)
        chased, queued = _chase_until(references, in_savepoint)
        uow.commit()
    return chased, queued


def _chase_until(references: list[str], chase: Callable[[str], int]) -> tuple[int, int]:
    """Chases cases in order until all are done or CHUNK_SECONDS have passed (one at
    least): (how many, emails queued)."""
    commit_by = time.monotonic() + CHUNK_SECONDS
    chased = queued = 0
    for reference in references:
        if chased and time.monotonic() > commit_by:
            break
        chased, queued = chased + 1, queued + chase(reference)
    return chased, queued


def _look_up_vouched(services: Services, uow: UnitOfWork, references: list[str]) -> None:
    """Which of the people on the cases not yet accepted are vouched for, in one statement
    a mailbox, rather than one a case as their mail is queued."""
    unaccepted: dict[str, set[str]] = {}
    for reference in references:
        case = uow.cases.get(reference)
        if case is not None and case.accepted_at is None:
            mailbox = services.for_policy(case.policy_key).name
            unaccepted.setdefault(mailbox, set()).update(p.email for p in case.everyone())
    for mailbox, addresses in unaccepted.items():
        uow.known.look_up(mailbox, addresses)


def _chase_one(services: Services, uow: UnitOfWork, reference: str, now: datetime) -> int:
    case = uow.cases.get(reference)
    if case is None:
        return 0
    mailbox = services.for_policy(case.policy_key)
    notices = mailbox.engine.chase(case, now)
    return outgoing.queue_for(services, uow, mailbox, notices, case, now)
