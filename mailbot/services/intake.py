"""Use case: a message arrived in a partnership mailbox.

The raw bytes are stored first, in their own transaction, so nothing a user sent is ever
lost; a whole batch from the mailbox is stored in one (``store_messages``), after which the
mailbox may let go of it. Acting on a stored message (opening a case, applying commands,
queueing replies) is a second transaction that also marks it processed, so a crash anywhere
leaves it either fully done or still pending in the store: never half done, never twice.
That second transaction first claims the message (``InboundLog.claim``), so pollers and
workers sharing one database never act on one message twice; it holds a chunk of messages,
each in a savepoint of its own (``act_on_pending``).
An error while acting quarantines that one message and tells the business managers; the
messages behind it carry on (Mailman's shunt queue, ``core/runner.py``). A passing error (the
database busy or disconnected) is not the message's fault: the message stays pending and the
error goes up, so the pass stops and the caller backs off before the next pass retries it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from mailbot.domain.case import Case
from mailbot.domain.errors import DatabaseTrouble, TransientError, is_database_trouble
from mailbot.domain.notices import ALERT_TEMPLATES, Notice, Template
from mailbot.domain.service_notice_contexts import QuarantineAlert
from mailbot.intake.classify import Classification, classify, may_carry_referral
from mailbot.intake.message import InboundMessage, parse_message
from mailbot.intake.message_id import read_message_id
from mailbot.services import outgoing, referrals, replies, reply_answers
from mailbot.services.case_matching import match_case
from mailbot.services.context import MailboxContext, Services
from mailbot.services.ports import RawMessage, UnitOfWork
from mailbot.services.stored import InboundRecord, InboundStatus, SentMessage

log = logging.getLogger(__name__)

PROCESSED, IGNORED, QUARANTINED = InboundStatus.PROCESSED, InboundStatus.IGNORED, InboundStatus.QUARANTINED


@dataclass(frozen=True)
class Handled:
    status: InboundStatus
    case_reference: str | None = None
    note: str = ""


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


def _act_on_chunk(services: Services, mailbox: MailboxContext, records: Sequence[InboundRecord],
                  now: Callable[[], datetime]) -> tuple[int, int]:
    """Acts on the first of ``records`` in one transaction. Returns how many it went through
    (at least one) and how many of those it acted on: the others another poller or worker
    acted on, or is acting on now (``InboundLog.claim``). A passing error (the database busy
    or gone) undoes the chunk, which stays pending, and goes up: the pass stops and backs off."""
    outcomes: list[tuple[InboundMessage, Handled]] = []
    tried = 0
    commit_by = time.monotonic() + CHUNK_SECONDS
    try:
        with services.uow_factory() as uow:
            for record in records:
                if tried and time.monotonic() > commit_by:
                    break
                tried += 1
                if not uow.inbound.claim(record.id):
                    continue
                message = parse_message(uow.inbound.raw(record.id))  # one in memory at a time
                outcomes.append((message, _act_in(services, uow, mailbox, record, message, now())))
            uow.commit()
    except Exception as error:
        if not is_transient(error):
            raise
        log.warning("%d message(s) of mailbox %s left pending, to be retried: %s", tried,
                    mailbox.name, error)
        if isinstance(error, TransientError):
            raise
        raise DatabaseTrouble(f"database unavailable or busy: {error}") from error
    for message, handled in outcomes:
        _log_handled(mailbox, message, handled)
    return tried, len(outcomes)


def _act_in(services: Services, uow: UnitOfWork, mailbox: MailboxContext, record: InboundRecord,
            message: InboundMessage, now: datetime) -> Handled:
    """One message in a savepoint of the chunk's transaction. What fails is undone alone and
    the message quarantined (the one-message boundary: never block the rest); a passing
    error goes up to the chunk."""
    try:
        with uow.savepoint():
            handled = _act(services, uow, mailbox, message, now)
            uow.inbound.mark(record.id, handled.status, handled.case_reference, handled.note)
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


def release_quarantined(services: Services, record_id: int, now: datetime) -> Handled:
    """Runs a quarantined message through intake once more (Mailman's unshunt): back to
    received and acted on in one transaction, so it is acted on exactly once even with a
    worker running. Raises LookupError when there is no such quarantined message; when it
    fails again it stays quarantined with the new reason (the operator is told, not the
    business managers again) and the error goes up."""
    with services.uow_factory() as uow:
        stored = uow.upkeep.stored_one(record_id)
        if stored is None or stored.status != QUARANTINED:
            raise LookupError(f"no quarantined message {record_id}"
                              + (f" (it is {stored.status})" if stored else ""))
        data = uow.inbound.raw(record_id)
    mailbox = services.mailboxes.get(stored.mailbox)
    if mailbox is None:
        raise LookupError(f"message {record_id} came to mailbox {stored.mailbox!r}, which is no"
                          " longer in the config")
    message = parse_message(data)
    try:
        with services.uow_factory() as uow:
            if not uow.upkeep.reopen(record_id):
                raise LookupError(f"message {record_id} was released by someone else just now")
            handled = _act(services, uow, mailbox, message, now)
            uow.inbound.mark(record_id, handled.status, handled.case_reference, handled.note)
            uow.commit()
    except LookupError:
        raise
    except Exception as error:
        if not is_transient(error):
            with services.uow_factory() as uow:
                uow.inbound.mark(record_id, QUARANTINED, None, f"{type(error).__name__}: {error}")
                uow.commit()
        raise
    log.info("message %s released from quarantine: %s%s", record_id, handled.status,
             f" (case {handled.case_reference})" if handled.case_reference else "")
    return handled


def is_transient(error: BaseException) -> bool:
    """Passing trouble, however it surfaced: retried, never quarantined."""
    return isinstance(error, TransientError) or is_database_trouble(error)


def _act(services: Services, uow: UnitOfWork, mailbox: MailboxContext,
         message: InboundMessage, now: datetime) -> Handled:
    verdict = classify(message, own_addresses=services.own_addresses,
                       own_message_id_domain=mailbox.address.rsplit("@", 1)[-1])
    if verdict.kind == "automatic":
        return _automatic(services, uow, mailbox, message, verdict, now)
    if verdict.kind == "own":
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


def _automatic(services: Services, uow: UnitOfWork, mailbox: MailboxContext,
               message: InboundMessage, verdict: Classification, now: datetime) -> Handled:
    """Automatic mail is never answered, but a referral in it is acted on. Automatic mail in
    a case thread is an auto-reply to our own mail, whatever it quotes."""
    ignored = Handled(IGNORED, note=f"automatic: {verdict.reason}")
    if verdict.referenced_ids or verdict.subject_reference or not may_carry_referral(message):
        return ignored
    reference, note = referrals.handle_automatic_mail(services, uow, mailbox, message,
                                                      verdict.reason, now)
    return Handled(PROCESSED, reference, note) if note else ignored


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
        _queue(services, uow, mailbox, _bounce_alerts(mailbox, sent, notices, now), case, now)
        return Handled(PROCESSED, case.reference, "bounce of our mail")
    return Handled(IGNORED, note="bounce of mail we cannot match to a case")


def _bounce_alerts(mailbox: MailboxContext, sent: SentMessage, notices: list[Notice],
                   now: datetime) -> list[Notice]:
    """Who hears of a bounce. Never anyone about an alert's own bounce, and never the business
    manager whose mailbox bounced: each alert to it would bounce in turn, without end. The
    other business managers are told once a day per case at most; the case records every one."""
    if sent.template in ALERT_TEMPLATES:
        log.warning("an alert to %s bounced; recorded on the case, not alerted about",
                    sent.recipient)
        return []
    bounced = sent.recipient.lower()
    if bounced not in mailbox.business_manager_addresses:
        return notices
    others = tuple(p for p in mailbox.partnership.business_managers if p.email.lower() != bounced)
    if not others:
        log.warning("mail to business manager %s bounced and there is no other to tell", bounced)
        return []
    return [replace(n, to=others, key=f"manager-bounce:{bounced}@{now:%Y%m%d}") for n in notices]


def _quarantine_in(services: Services, uow: UnitOfWork, mailbox: MailboxContext,
                   record: InboundRecord, message: InboundMessage, error: Exception,
                   now: datetime) -> None:
    uow.inbound.mark(record.id, QUARANTINED, None, f"{type(error).__name__}: {error}")
    notice = Notice(Template.QUARANTINE_ALERT, mailbox.partnership.business_managers,
                    key=f"quarantine:{record.id}",
                    context=QuarantineAlert(
                        reason=f"{type(error).__name__}: {error}", message_id=message.message_id,
                        sender=", ".join(a.email for a in message.from_addresses)))
    _queue(services, uow, mailbox, [notice], None, now)


def _queue(services: Services, uow: UnitOfWork, mailbox: MailboxContext, notices: list[Notice],
           case: Case | None, now: datetime) -> None:
    outgoing.queue_for(services, uow, mailbox, notices, case, now)
