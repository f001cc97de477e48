"""Use case: one worker keeps its share of the work on a database that several workers share.

Each round, a worker renews the lease on its own name (so the workers can count each other),
keeps the mailboxes it holds up to its fair share (the mailboxes divided by the live workers,
rounded up), hands any beyond that back, takes free ones up to its share, and holds the
deadline pass if nobody else does. A worker that dies renews nothing: when its leases run
out, the others' next rounds count one worker fewer and take its mailboxes and its pass.
Each free lease is taken in a transaction of its own, and the leases a worker already holds are
renewed together in one statement that touches only its own rows, so two workers' rounds never
wait on each other's locks for long (nor deadlock): a taker holds one row at a time.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime, timedelta

from mailbot.services.context import Services

WORKER, MAILBOX, DEADLINE_PASS = "worker:", "mailbox:", "deadline-pass"


def mailbox_lease(name: str) -> str:
    return MAILBOX + name


def keep_share(services: Services, holder: str, mailboxes: Sequence[str], now: datetime,
               valid_for: timedelta) -> set[str]:
    """Renews and takes this worker's leases as of ``now``; returns the names it holds."""
    until = now + valid_for
    _take(services, WORKER + holder, holder, now, until)
    with services.uow_factory() as uow:
        running = uow.leases.running("", now)
    workers = max(1, sum(lease.name.startswith(WORKER) for lease in running))
    share = math.ceil(len(mailboxes) / workers)
    wanted = {mailbox_lease(name) for name in mailboxes}
    mine = sorted(lease.name for lease in running if lease.holder == holder and lease.name in wanted)
    taken_by_others = {lease.name for lease in running if lease.holder != holder}
    holds_pass = any(lease.name == DEADLINE_PASS and lease.holder == holder for lease in running)
    # What this worker already holds is renewed in one statement: one transaction a lease
    # made a round of 150 mailboxes cost a whole per cent of a core at rest (bench/scale.py).
    held = _renew(services, [*mine[:share], *([DEADLINE_PASS] if holds_pass else [])],
                  holder, now, until)
    keeps_pass = DEADLINE_PASS in held
    held.discard(DEADLINE_PASS)
    _release(services, mine[share:], holder)  # beyond the share: another worker's to take
    for name in sorted(wanted - set(mine) - taken_by_others):
        if len(held) >= share:
            break
        if _take(services, name, holder, now, until):
            held.add(name)
    if keeps_pass or _take(services, DEADLINE_PASS, holder, now, until):
        held.add(DEADLINE_PASS)
    return held


def let_go(services: Services, holder: str, names: Sequence[str]) -> None:
    """A clean stop: hands every lease back at once, so nobody waits for them to run out."""
    _release(services, [*names, WORKER + holder], holder)


def _take(services: Services, name: str, holder: str, now: datetime, until: datetime) -> bool:
    with services.uow_factory() as uow:
        taken = uow.leases.take(name, holder, now, until)
        uow.commit()
    return taken


def _renew(services: Services, names: Sequence[str], holder: str, now: datetime,
           until: datetime) -> set[str]:
    if not names:
        return set()
    with services.uow_factory() as uow:
        renewed = uow.leases.renew(names, holder, now, until)
        uow.commit()
    return renewed


def _release(services: Services, names: Sequence[str], holder: str) -> None:
    if names:
        with services.uow_factory() as uow:
            uow.leases.release(list(names), holder)
            uow.commit()
