"""Use case: a message arrived in a partnership mailbox.

The raw bytes are stored first, in their own transaction, so nothing a user sent is ever
lost; a whole batch from the mailbox is stored in one (``store_messages``), after which the
mailbox may let go of it. Acting on a stored message (opening a case, applying commands,
queueing replies) is a second transaction that also marks it processed, so a crash anywhere
leaves it either fully done or still pending in the store: never half done, never twice.
An error while acting quarantines that one message and tells the business managers; the
messages behind it carry on (Mailman's shunt queue, ``core/runner.py``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from mailbot.domain.case import Case
from mailbot.domain.notices import Notice, Template
from mailbot.intake.classify import classify
from mailbot.intake.message import InboundMessage, parse_message, read_message_id
from mailbot.services import outgoing, referrals, replies, reply_answers
from mailbot.services.case_matching import match_case
from mailbot.services.context import MailboxContext, Services
from mailbot.services.ports import RawMessage
from mailbot.services.unit_of_work import InboundRecord, UnitOfWork

log = logging.getLogger(__name__)

RECEIVED, PROCESSED, IGNORED, QUARANTINED = "received", "processed", "ignored", "quarantined"


@dataclass(frozen=True)
class Handled:
    status: str
    case_reference: str | None = None
    note: str = ""


def receive_message(services: Services, mailbox: MailboxContext, raw: RawMessage,
                    now: datetime) -> Handled:
    """Stores, then acts on, one raw message. Safe to call again for the same message."""
    message = parse_message(raw.data)
    record = _store(services, raw, message)
    if record is None:
        return Handled("replay", note="seen before")
    return _act_on(services, mailbox, record, message, now)


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

    Messages are acted on a chunk to a transaction, each in a savepoint of its own: one that
    fails is undone alone and quarantined in the same transaction, and the chunk commits once.
    Two transactions and a commit a message had held acting to about 70 a second (issue 18).
    """
    done = 0
    while True:
        with services.uow_factory() as uow:
            records = uow.inbound.pending(mailbox.name, batch)
        position = 0
        while position < len(records):
            position += _act_on_chunk(services, mailbox, records[position:position + ACT_CHUNK],
                                      now)
        done += len(records)
        if len(records) < batch:
            return done


ACT_CHUNK = 50  # messages a transaction: one commit each, the write lock held briefly
# ... and a transaction is committed after this long whatever its size, so a slow machine, or
# a pass that is killed again and again, still makes progress (tests/e2e/test_crash_recovery).
CHUNK_SECONDS = 0.25


def _act_on_chunk(services: Services, mailbox: MailboxContext, records: Sequence[InboundRecord],
                  now: Callable[[], datetime]) -> int:
    """Acts on the first of ``records`` in one transaction; returns how many (at least one)."""
    outcomes = []
    commit_by = time.monotonic() + CHUNK_SECONDS
    with services.uow_factory() as uow:
        for record in records:
            if outcomes and time.monotonic() > commit_by:
                break
            message = parse_message(uow.inbound.raw(record.id))  # one message in memory at a time
            moment = now()
            try:
                with uow.savepoint():
                    handled = _act(services, uow, mailbox, message, moment)
                    uow.inbound.mark(record.id, handled.status, handled.case_reference,
                                     handled.note)
            except Exception as error:  # the one-message boundary: quarantine it, never block the rest
                log.exception("message %s quarantined", message.message_id or record.id)
                with uow.savepoint():
                    _quarantine_in(services, uow, mailbox, record, message, error, moment)
                handled = Handled(QUARANTINED, note=str(error))
            outcomes.append((message, handled))
        uow.commit()
    for message, handled in outcomes:
        _log_handled(mailbox, message, handled)
    return len(outcomes)


def _act_on(services: Services, mailbox: MailboxContext, record: InboundRecord,
            message: InboundMessage, now: datetime) -> Handled:
    try:
        with services.uow_factory() as uow:
            handled = _act(services, uow, mailbox, message, now)
            uow.inbound.mark(record.id, handled.status, handled.case_reference, handled.note)
            uow.commit()
    except Exception as error:  # the one-message boundary: quarantine it, never block the rest
        log.exception("message %s quarantined", message.message_id or record.id)
        _quarantine(services, mailbox, record, message, error, now)
        return Handled(QUARANTINED, note=str(error))
    _log_handled(mailbox, message, handled)
    return handled


def _log_handled(mailbox: MailboxContext, message: InboundMessage, handled: Handled) -> None:
    if handled.status == QUARANTINED:
        return  # logged with its traceback when it happened
    log.info("message %s from mailbox %s: %s%s", message.message_id or "-", mailbox.name,
             handled.status, f" (case {handled.case_reference})" if handled.case_reference else "")


def _store(services: Services, raw: RawMessage, message: InboundMessage) -> InboundRecord | None:
    """The stored record still to act on, or None when this message was fully handled before."""
    with services.uow_factory() as uow:
        record = uow.inbound.record(raw.mailbox, raw.uidvalidity, raw.uid, message.message_id,
                                    raw.data)
        if record is None:
            record = uow.inbound.find(raw.mailbox, raw.uidvalidity, raw.uid, raw.data)
        uow.commit()
    # A record still "received" was stored by a run that died before acting on it.
    return record if record is not None and record.status == RECEIVED else None


def _act(services: Services, uow: UnitOfWork, mailbox: MailboxContext,
         message: InboundMessage, now: datetime) -> Handled:
    verdict = classify(message, own_addresses=services.own_addresses,
                       own_message_id_domain=mailbox.address.rsplit("@", 1)[-1])
    if verdict.kind in ("own", "automatic"):
        return Handled(IGNORED, note=f"{verdict.kind}: {verdict.reason}")
    if verdict.kind == "bounce":
        return _bounce(services, uow, mailbox, message, verdict.bounced_message_ids, now)
    match = match_case(uow, mailbox, message)
    if match.case is not None:
        replies.handle_reply(services, uow, mailbox, match, message, now)
        return Handled(PROCESSED, match.case.reference)
    if match.problem:
        _queue(services, uow, mailbox, reply_answers.misdirected_answer(mailbox, message,
                                                                        match.problem), None, now)
        return Handled(PROCESSED, note="reply refused: " + match.problem[:200])
    if match.foreign:
        return _misdirected(services, uow, mailbox, match.foreign, message, now)
    reference = referrals.handle_new_mail(services, uow, mailbox, message, now)
    return Handled(PROCESSED, reference, "" if reference else "asked the sender to correct it")


def _misdirected(services: Services, uow: UnitOfWork, mailbox: MailboxContext, reference: str,
                 message: InboundMessage, now: datetime) -> Handled:
    """A reply about another partnership's case: acted on by nobody here, answered with
    nothing about the case, and reported to the business managers who own the case."""
    case = uow.cases.get(reference)
    reason = (f"This mailbox ({mailbox.address}) acts only on {mailbox.policy.name}'s own cases,"
              " and your message is about a case of another partnership. Nothing has changed;"
              " please reply to the email you received about that case.")
    _queue(services, uow, mailbox, reply_answers.misdirected_answer(mailbox, message, reason),
           None, now)
    owner = _owner(services, case.policy_key) if case is not None else None
    if case is not None and owner is not None:
        alert = reply_answers.misdirected_alert(owner, case, mailbox, message)
        _queue(services, uow, owner, [alert], case, now)
    return Handled(PROCESSED, note=f"reply about another partnership's case {reference} refused")


def _owner(services: Services, policy_key: str) -> MailboxContext | None:
    try:
        return services.for_policy(policy_key)
    except LookupError:
        return None


def _bounce(services: Services, uow: UnitOfWork, mailbox: MailboxContext,
            message: InboundMessage, bounced_ids: tuple[str, ...], now: datetime) -> Handled:
    for sent in uow.outbox.lookup(list(bounced_ids)):
        case = uow.cases.get(sent.case_reference) if sent.case_reference else None
        if case is None:
            continue
        text = (f"Mail about {case.reference} to {sent.recipient} ({sent.template}) could not"
                f" be delivered: {message.subject or 'delivery failure report'}")
        notices = mailbox.engine.record_bounce(case, text, now, message.message_id)
        uow.cases.save(case)
        _queue(services, uow, mailbox, notices, case, now)
        return Handled(PROCESSED, case.reference, "bounce of our mail")
    return Handled(IGNORED, note="bounce of mail we cannot match to a case")


def _quarantine(services: Services, mailbox: MailboxContext, record: InboundRecord,
                message: InboundMessage, error: Exception, now: datetime) -> None:
    with services.uow_factory() as uow:
        _quarantine_in(services, uow, mailbox, record, message, error, now)
        uow.commit()


def _quarantine_in(services: Services, uow: UnitOfWork, mailbox: MailboxContext,
                   record: InboundRecord, message: InboundMessage, error: Exception,
                   now: datetime) -> None:
    uow.inbound.mark(record.id, QUARANTINED, None, f"{type(error).__name__}: {error}")
    notice = Notice(Template.QUARANTINE_ALERT, mailbox.partnership.business_managers,
                    key=f"quarantine:{record.id}",
                    context={"message_id": message.message_id, "record_id": record.id,
                             "reason": f"{type(error).__name__}: {error}",
                             "sender": ", ".join(a.email for a in message.from_addresses),
                             "subject": message.subject or ""})
    _queue(services, uow, mailbox, [notice], None, now)


def _queue(services: Services, uow: UnitOfWork, mailbox: MailboxContext, notices: list[Notice],
           case: Case | None, now: datetime) -> None:
    outgoing.queue_for(services, uow, mailbox, notices, case, now)
