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


@dataclass
class PassResult:
    handled: int = 0
    failed: bool = False


def drain_mailbox(services: Services, context: MailboxContext, mailbox: Mailbox,
                  now: Callable[[], datetime], batch: int = BATCH) -> int:
    """Handles every waiting message of an open mailbox; returns how many. Mailbox trouble
    raises ``MailbotError`` (a message's own trouble is quarantined inside)."""
    handled = act_on_pending(services, context, now, batch)  # left by a pass that died
    while messages := mailbox.fetch_new(batch):
        # Stored durably first, then let go of in one go, then acted on from the store: a
        # backlog leaves the server at close to the speed of a bare fetch.
        store_messages(services, messages)
        mailbox.mark_all_processed(messages)
        handled += act_on_pending(services, context, now, batch)
        if len(messages) < batch:
            break
    return handled


def poll_mailbox(services: Services, context: MailboxContext, open_mailbox: Callable[[], Mailbox],
                 now: Callable[[], datetime], batch: int = BATCH) -> PassResult:
    """Opens a mailbox, drains it and closes it; never raises for mailbox trouble."""
    result = PassResult()
    try:
        mailbox = open_mailbox()
        try:
            result.handled = drain_mailbox(services, context, mailbox, now, batch)
        finally:
            mailbox.close()
    except MailbotError as error:
        if is_database_trouble(error):
            raise  # the database's trouble, not the mailbox's: the command says so
        result.failed = True
        log.error("mailbox %s failed: %s", context.name, error)
        report_mailbox_health(services, context, now(), problem=str(error))
        return result
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
                        # The templates name the reason "error" and the start "since".
                        context={"mailbox": context.name, "address": context.address,
                                 "error": problem, "since": now if problem else ""})
        queue_notices(uow, services.composer, [notice], case=None, policy=context.policy,
                      sender=Person(context.policy.name, context.address), now=now)
        uow.commit()
