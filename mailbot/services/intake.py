"""Use case: a message arrived in a partnership mailbox.

The raw bytes are stored first, in their own transaction, so nothing a user sent is ever
lost; a whole batch from the mailbox is stored in one (``store_messages``), after which the
mailbox may let go of it. Acting on a stored message (opening a case, applying commands,
queueing replies) is a second transaction that also marks it processed, so a crash anywhere
leaves it either fully done or still pending in the store: never half done, never twice.
That second transaction first claims the message (``InboundLog.claim_many``), so pollers and
workers sharing one database never act on one message twice; it holds a chunk of messages
(``act_on_pending``).
An error while acting quarantines that one message and tells the business managers; the
messages behind it carry on (Mailman's shunt queue, ``core/runner.py``). So a chunk is first
acted on all together, its mail stored in one statement before it commits; if any message
fails, nothing of the chunk is kept and it is acted on again one message to a savepoint, so
that only the failing one is undone and quarantined. A passing error (the
database busy or disconnected) is not the message's fault: the message stays pending and the
error goes up, so the pass stops and the caller backs off before the next pass retries it.
What a message leads to is decided in ``message_routing``; ``quarantine`` releases a message
set aside here.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from datetime import datetime

from mailbot.domain.errors import DatabaseTrouble, TransientError, is_database_trouble
from mailbot.domain.notices import Notice, Template
from mailbot.domain.service_notice_contexts import QuarantineAlert
from mailbot.intake.message import InboundMessage, parse_message
from mailbot.intake.message_id import read_message_id
from mailbot.services import outgoing
from mailbot.services.context import MailboxContext, Services
from mailbot.services.message_routing import Handled, act_on
from mailbot.services.messaging import store_mail_waiting
from mailbot.services.ports import RawMessage, UnitOfWork
from mailbot.services.stored import InboundMark, InboundRecord, InboundStatus, MailWaiting

log = logging.getLogger(__name__)

QUARANTINED = InboundStatus.QUARANTINED


def store_messages(services: Services, raws: Sequence[RawMessage]) -> int:
    """Stores a batch in one transaction and returns how many were new; once this returns,
    the mailbox may let go of them (``act_on_pending`` works from the store)."""
    with services.uow_factory() as uow:
        new = uow.inbound.record_many([(raw.mailbox, raw.uidvalidity, raw.uid,
                                        read_message_id(raw.data), raw.data) for raw in raws])
        uow.commit()
    return new


def act_on_pending(services: Services, mailbox: MailboxContext, now: Callable[[], datetime],
                   batch: int = 200) -> int:
    """Acts on every stored message of this mailbox not yet acted on, oldest first: the batch
    just stored, and whatever a pass that died left behind. Returns how many.

    Messages are acted on a chunk to a transaction, which commits once (``_act_on_chunk``).
    Two transactions and a commit a message had held acting to about 70 a second (issue 18).
    """
    done = 0
    while True:
        with services.uow_factory() as uow:
            records = uow.inbound.pending(mailbox.name, batch)
        position = acted = 0
        while position < len(records):
            tried, handled = _act_on_chunk(services, mailbox,
                                           records[position:position + ACT_CHUNK], now)
            position, acted = position + tried, acted + handled
        done += acted
        # A full batch all taken by other workers is theirs to finish: reading it again would spin.
        if len(records) < batch or not acted:
            return done


ACT_CHUNK = 50  # messages a transaction: one commit each, the write lock held briefly
# ... and a transaction is committed after this long whatever its size, so a slow machine, or
# a pass that is killed again and again, still makes progress (tests/e2e/test_crash_recovery).
CHUNK_SECONDS = 0.25
# Messages claimed in one statement: a claim a message had been a round trip a message on
# PostgreSQL (issue 18). Those claimed and not reached before the chunk commits are let go
# by the commit, still pending.
CLAIM_AHEAD = 10


def _act_on_chunk(services: Services, mailbox: MailboxContext, records: Sequence[InboundRecord],
                  now: Callable[[], datetime]) -> tuple[int, int]:
    """Acts on the first of ``records`` in one transaction. Returns how many it went through
    (at least one) and how many of those it acted on: the others another poller or worker
    acted on, or is acting on now (``InboundLog.claim_many``). A passing error (the database busy
    or gone) undoes the chunk, which stays pending, and goes up: the pass stops and backs off.

    The chunk is acted on all together first. A savepoint a message, and the mail of each
    written on its own, had been a fifth of acting's time on PostgreSQL (issue 18); only
    when some message fails is the chunk acted on again one message to a savepoint."""
    try:
        try:
            tried, outcomes = _act_together(services, mailbox, records, now)
        except Exception as error:
            if is_transient(error):
                raise
            log.warning("acting on messages %s to %s of mailbox %s together failed; acting on"
                        " them one at a time", records[0].id, records[-1].id, mailbox.name,
                        exc_info=True)
            tried, outcomes = _act_one_by_one(services, mailbox, records, now)
    except Exception as error:
        if not is_transient(error):
            raise
        log.warning("messages %s to %s of mailbox %s left pending, to be retried: %s",
                    records[0].id, records[-1].id, mailbox.name, error)
        if isinstance(error, TransientError):
            raise
        raise DatabaseTrouble(f"database unavailable or busy: {error}") from error
    for message, handled in outcomes:
        _log_handled(mailbox, message, handled)
    return tried, len(outcomes)


Outcomes = list[tuple[InboundMessage, Handled]]
ActOne = Callable[[UnitOfWork, InboundRecord, InboundMessage, list[InboundMark]], Handled]


def _act_together(services: Services, mailbox: MailboxContext, records: Sequence[InboundRecord],
                  now: Callable[[], datetime]) -> tuple[int, Outcomes]:
    """No savepoints, and the chunk's mail waits to be stored in one statement at the end:
    any error undoes the whole chunk."""
    def act(uow: UnitOfWork, record: InboundRecord, message: InboundMessage,
            marks: list[InboundMark]) -> Handled:
        handled = act_on(services, uow, mailbox, message, now())
        marks.append((record.id, handled.status, handled.case_reference, handled.note))
        return handled

    return _act_until(services, records, act, mail_waits=True)


def _act_one_by_one(services: Services, mailbox: MailboxContext,
                    records: Sequence[InboundRecord],
                    now: Callable[[], datetime]) -> tuple[int, Outcomes]:
    return _act_until(services, records,
                      lambda uow, record, message, marks: _act_in(
                          services, uow, mailbox, record, message, now(), marks),
                      mail_waits=False)


def _act_until(services: Services, records: Sequence[InboundRecord], act: ActOne,
               mail_waits: bool) -> tuple[int, Outcomes]:
    """Acts on records in one transaction until all are done or CHUNK_SECONDS have passed
    (one at least), marks those acted on, and commits: (how many it went through, what
    those it acted on led to)."""
    outcomes: Outcomes = []
    marks: list[InboundMark] = []  # of the messages acted on
    tried = 0
    commit_by = time.monotonic() + CHUNK_SECONDS
    with services.uow_factory() as uow:
        if mail_waits:
            uow.mail_waiting = MailWaiting()
        claimed: set[int] = set()
        for position, record in enumerate(records):
            if tried and time.monotonic() > commit_by:
                break
            tried += 1
            if position % CLAIM_AHEAD == 0:
                claimed = uow.inbound.claim_many(
                    [r.id for r in records[position:position + CLAIM_AHEAD]])
            if record.id not in claimed:
                continue
            message = parse_message(uow.inbound.raw(record.id))  # one parsed at a time
            outcomes.append((message, act(uow, record, message, marks)))
        store_mail_waiting(uow)
        uow.inbound.mark_many(marks)
        uow.commit()
    return tried, outcomes


def _act_in(services: Services, uow: UnitOfWork, mailbox: MailboxContext, record: InboundRecord,
            message: InboundMessage, now: datetime,
            marks: list[InboundMark]) -> Handled:
    """One message in a savepoint of the chunk's transaction. What fails is undone alone and
    the message quarantined (the one-message boundary: never block the rest); a passing
    error goes up to the chunk. A message acted on is marked so in ``marks``, which the chunk
    writes in one statement just before it commits: in the same transaction, so the message
    and what it led to are still done together or not at all, but one UPDATE a chunk rather
    than one a message (a round trip each, on PostgreSQL)."""
    try:
        with uow.savepoint():
            handled = act_on(services, uow, mailbox, message, now)
        marks.append((record.id, handled.status, handled.case_reference, handled.note))
        return handled
    except Exception as error:
        if is_transient(error):
            raise
        log.exception("message %s quarantined", message.message_id or record.id)
        failure = error
    try:
        with uow.savepoint():
            _quarantine_in(services, uow, mailbox, record, message, failure, now)
    except Exception as alert_error:
        if is_transient(alert_error):
            raise
        # The alert itself cannot be made (the same broken template, say): the message is set
        # aside all the same, so it never blocks the messages behind it; `mailbot status` and
        # `mailbot quarantine list` show it.
        log.exception("message %s quarantined without an alert", record.id)
        with uow.savepoint():
            uow.inbound.mark(record.id, QUARANTINED, None, f"{type(failure).__name__}: {failure}"
                             f" (the business managers could not be told: {alert_error})")
    return Handled(QUARANTINED, note=str(failure))


def _log_handled(mailbox: MailboxContext, message: InboundMessage, handled: Handled) -> None:
    if handled.status == QUARANTINED:
        return  # logged with its traceback when it happened
    log.info("message %s from mailbox %s: %s%s", message.message_id or "-", mailbox.name,
             handled.status, f" (case {handled.case_reference})" if handled.case_reference else "")


def is_transient(error: BaseException) -> bool:
    """Passing trouble, however it surfaced: retried, never quarantined."""
    return isinstance(error, TransientError) or is_database_trouble(error)


def _quarantine_in(services: Services, uow: UnitOfWork, mailbox: MailboxContext,
                   record: InboundRecord, message: InboundMessage, error: Exception,
                   now: datetime) -> None:
    uow.inbound.mark(record.id, QUARANTINED, None, f"{type(error).__name__}: {error}")
    notice = Notice(Template.QUARANTINE_ALERT, mailbox.partnership.business_managers,
                    key=f"quarantine:{record.id}",
                    context=QuarantineAlert(
                        reason=f"{type(error).__name__}: {error}", message_id=message.message_id,
                        sender=", ".join(a.email for a in message.from_addresses)))
    outgoing.queue_for(services, uow, mailbox, [notice], None, now)
