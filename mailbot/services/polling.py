"""Use case: one intake pass over one mailbox, and its health.

Each message is handled and committed before the mailbox is told to move it, so a crash
between the two leaves a message that is recognised as a replay and simply moved next
time. A mailbox that cannot be reached is reported to its business managers once, and
again once it recovers; the state that remembers this lives in the database, so a
restarted worker does not report the same outage twice.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from mailbot.domain.errors import MailbotError, is_database_trouble
from mailbot.domain.notices import Notice, Template
from mailbot.domain.referral import Person
from mailbot.domain.service_notice_contexts import MailboxAlert
from mailbot.services.context import MailboxContext, Services
from mailbot.services.health import record_poll
from mailbot.services.intake import act_on_pending, store_messages
from mailbot.services.messaging import queue_notices
from mailbot.services.ports import Mailbox

log = logging.getLogger(__name__)

# Messages taken from the mailbox at a time. Each batch costs the mail server a MOVE (Dovecot's
# Maildir rescans the folder for every one) and the store a durable commit, so a backlog goes
# faster in fewer, larger batches: bench/mailbox.py took 1,000 messages 10% faster in batches
# of 500 than of 200. Each adapter's byte budget keeps a batch of large mail small.
BATCH = 500


# A one-shot poll takes at most this many messages from one mailbox, then says so and fails,
# so a mailbox filling as fast as it drains cannot keep `mailbot poll` running for ever.
POLL_LIMIT = 100_000


@dataclass
class PassResult:
    handled: int = 0
    failed: bool = False
    cut_short: bool = False  # stopped at the limit with mail still waiting


@dataclass(frozen=True)
class Drained:
    handled: int
    more: bool  # stopped at the limit (or on mail that would not leave) with mail still waiting


def drain_mailbox(services: Services, context: MailboxContext, mailbox: Mailbox,
                  now: Callable[[], datetime], batch: int = BATCH) -> int:
    """Handles every waiting message of an open mailbox; returns how many."""
    return take_waiting(services, context, mailbox, now, batch=batch).handled


def take_waiting(services: Services, context: MailboxContext, mailbox: Mailbox,
                 now: Callable[[], datetime], *, batch: int = BATCH,
                 limit: int | None = None, leftovers: bool = True) -> Drained:
    """Handles waiting messages of an open mailbox until none is left or about ``limit`` are
    handled. Mailbox trouble raises ``MailbotError`` (a message's own trouble is quarantined
    inside). ``leftovers``: first act on what a pass that died stored but did not act on (a
    worker asks once per opening of the mailbox, not on every periodic look).

    Only an empty fetch ends the drain: a batch may come back shorter than asked for because
    the adapter's byte budget cut it, not because the mailbox is empty.
    """
    handled = act_on_pending(services, context, now, batch) if leftovers else 0
    offered: set[tuple[int, str]] = set()
    while limit is None or handled < limit:
        size = batch if limit is None else max(1, min(batch, limit - handled))
        messages = mailbox.fetch_new(size)
        if not messages:
            return Drained(handled, more=False)
        keys = {(raw.uidvalidity, raw.uid) for raw in messages}
        if keys <= offered:
            # Marked processed, yet offered again: taking them once more would loop for ever.
            log.error("mailbox %s: %d message(s) are offered again after being moved away;"
                      " stopping this pass", context.name, len(messages))
            return Drained(handled, more=True)
        offered |= keys
        # Stored durably first, then let go of in one go, then acted on from the store: a
        # backlog leaves the server at close to the speed of a bare fetch.
        store_messages(services, messages)
        mailbox.mark_all_processed(messages)
        handled += act_on_pending(services, context, now, batch)
    return Drained(handled, more=True)


def poll_mailbox(services: Services, context: MailboxContext, open_mailbox: Callable[[], Mailbox],
                 now: Callable[[], datetime], batch: int = BATCH,
                 limit: int = POLL_LIMIT) -> PassResult:
    """Opens a mailbox, drains it (up to ``limit`` messages) and closes it; never raises for
    mailbox trouble."""
    result = PassResult()
    try:
        mailbox = open_mailbox()
        try:
            drained = take_waiting(services, context, mailbox, now, batch=batch, limit=limit)
            result.handled, result.cut_short = drained.handled, drained.more
        finally:
            mailbox.close()
    except MailbotError as error:
        if is_database_trouble(error):
            raise  # the database's trouble, not the mailbox's: the command says so
        result.failed = True
        log.error("mailbox %s failed: %s", context.name, error)
        report_mailbox_health(services, context, now(), problem=str(error))
        return result
    if result.cut_short:
        log.error("mailbox %s: stopped after %d message(s), the most one poll takes (%d);"
                  " mail is still waiting: run mailbot poll again", context.name,
                  result.handled, limit)
    report_mailbox_health(services, context, now(), problem="")
    record_poll(services, context.name, now())
    return result


def report_mailbox_health(services: Services, context: MailboxContext, now: datetime,
                          problem: str) -> None:
    """Tells the business managers when a mailbox starts failing, and when it recovers."""
    key = f"mailbox-health:{context.name}"
    with services.uow_factory() as uow:
        was_failing = uow.state.get(key) not in (None, "")
        if bool(problem) == was_failing:
            return
        uow.state.set(key, problem)
        template = Template.MAILBOX_FAILURE if problem else Template.MAILBOX_RECOVERED
        notice = Notice(template, context.partnership.business_managers,
                        key=f"{template}@{now:%Y%m%dT%H%M%S}",
                        context=MailboxAlert(mailbox=context.name, error=problem,
                                              since=now if problem else None))
        queue_notices(uow, services.composer, [notice], case=None, policy=context.policy,
                      sender=Person(context.policy.name, context.address), now=now)
        uow.commit()
