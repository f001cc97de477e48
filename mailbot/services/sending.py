"""Use case: deliver queued mail, retrying what failed before.

Each row is claimed, then sent and marked, in transactions of its own, so two workers never
send one row twice and a crash loses nothing: a row whose delivery was accepted but not yet
marked stays queued and is sent once more when its claim runs out, unless the mailer can
tell it was delivered (``delivered``: the directory mailer can, SMTP cannot).
That window is one SMTP round trip wide, so such duplicates are rare; rows that had been
attempted before are counted as possible duplicates when they succeed. Transient
failures back off exponentially; permanent ones are marked and reported to the business
managers of the partnership that sent them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import datetime, timedelta

from mailbot.domain.errors import AuthenticationFailed, PermanentError, TransientError
from mailbot.domain.notice_contexts import BounceDetails
from mailbot.domain.notices import ALERT_TEMPLATES, Notice, Template
from mailbot.domain.referral import Person
from mailbot.services.context import Services
from mailbot.services.messaging import queue_notices
from mailbot.services.ports import Mailer, OutgoingEmail
from mailbot.services.stored import OutboxRow

log = logging.getLogger(__name__)

BACKOFF_BASE = timedelta(seconds=30)
BACKOFF_MAX = timedelta(hours=2)
# A refused login is ours to fix, not the message's: its mail waits this long between tries.
AUTHENTICATION_RETRY = timedelta(minutes=5)
# Rows a send pass has claimed are left alone by other workers' passes this long; if the
# pass dies before marking them, they are due again after this (the worker passes its
# [worker] lease_seconds, so a dead worker's mail moves on as soon as its mailboxes do). A
# pass claims rows a few at a time, and renews the claim on a batch that is slow to go.
CLAIM_FOR = timedelta(minutes=10)
CLAIM_BATCH = 25


def send_queued(services: Services, mailer: Mailer, now: datetime, *,
                redirect_all_to: str = "", limit: int = 500, claim_for: timedelta = CLAIM_FOR,
                clock: Callable[[], datetime] | None = None, sender: str | None = None,
                stopping: Callable[[], bool] = lambda: False) -> int:
    """Sends every outbox row due at ``now`` (only those from ``sender`` when given); returns
    how many were delivered. ``clock`` (the worker's real clock, default ``now``) times the
    claims, each batch's as it is made, so a long pass never claims in the past and a dead
    pass's claims run out even under --now. Once ``stopping()`` says so, the pass sends what it
    has claimed and claims no more: a stopping worker is not held up by a long queue, and what
    it leaves is unclaimed, due to the next pass at once."""
    clock = clock or (lambda: now)
    with services.uow_factory() as uow:
        rows = uow.outbox.due(now, limit, claims_at=clock(), sender=sender)
    delivered = 0
    refused: dict[str, AuthenticationFailed] = {}  # envelope sender -> why its login failed
    waiting: list[OutboxRow] = []
    for row in _claimed(services, rows, now, clock, claim_for, stopping):
        if row.item.envelope_from in refused:
            waiting.append(row)
            continue
        try:
            delivered += _send_one(services, mailer, row, now, redirect_all_to)
        except AuthenticationFailed as error:
            refused[row.item.envelope_from] = error
            waiting.append(row)
    if waiting:
        _keep_for_later(services, waiting, refused, now)
    if rows:  # each message sent has its own line; the pass is worth one only when some wait
        log.log(logging.INFO if delivered < len(rows) else logging.DEBUG,
                "send pass: %d of %d due message(s) delivered", delivered, len(rows))
    return delivered


def _send_one(services: Services, mailer: Mailer, row: OutboxRow, now: datetime,
              redirect_all_to: str) -> int:
    item = row.item
    email = OutgoingEmail(item.message_id, item.envelope_from, (item.recipient,), item.data)
    if redirect_all_to:
        email = replace(email, recipients=(redirect_all_to,))
    try:
        if not _delivered_before(mailer, row):
            mailer.send(email)
    except AuthenticationFailed:
        raise  # the sender's login, not this message: send_queued holds the sender's mail
    except TransientError as error:
        _failed(services, row, now, str(error), permanent=row.attempts + 1 >= services.max_send_attempts)
        return 0
    except PermanentError as error:
        _failed(services, row, now, str(error), permanent=True)
        return 0
    with services.uow_factory() as uow:
        uow.outbox.mark_sent(row.id, now)
        uow.commit()
    if row.attempts:
        services.count("resent_after_failure")
    log.info("sent %s to %s (Message-ID %s)", item.template, item.recipient, item.message_id)
    return 1


def _delivered_before(mailer: Mailer, row: OutboxRow) -> bool:
    """A row whose send pass died after delivering it, before marking it sent: a mailer that
    can tell (the directory mailer finds the file) is not asked to deliver it twice."""
    delivered = getattr(mailer, "delivered", None)
    if not row.interrupted or delivered is None or not delivered(row.item.message_id):
        return False
    log.info("%s to %s (Message-ID %s) was delivered by a send pass that died before saying so;"
             " not sent again", row.item.template, row.item.recipient, row.item.message_id)
    return True


def _claimed(services: Services, rows: list[OutboxRow], now: datetime,
             clock: Callable[[], datetime], claim_for: timedelta,
             stopping: Callable[[], bool]) -> Iterator[OutboxRow]:
    """The rows this pass claims, a batch at a time: two workers read the same due rows, and
    only the pass that claims a row sends it (one commit per batch, not per message). A batch
    still sending when half its claim has passed renews the claim on what is left. No batch is
    claimed once ``stopping()``."""
    for start in range(0, len(rows), CLAIM_BATCH):
        if stopping():
            return
        batch = rows[start:start + CLAIM_BATCH]
        claimed_at = clock()
        until = claimed_at + claim_for
        with services.uow_factory() as uow:
            mine = uow.outbox.claim([row.id for row in batch], now, until, claims_at=claimed_at)
            uow.commit()
        left = [row for row in batch if row.id in mine]
        while left:
            if clock() - claimed_at > claim_for / 2:
                claimed_at = clock()
                with services.uow_factory() as uow:
                    held = uow.outbox.extend_claim([row.id for row in left], until,
                                                   claimed_at + claim_for)
                    uow.commit()
                until = claimed_at + claim_for
                left = [row for row in left if row.id in held]
                if not left:
                    break
            yield left.pop(0)


def _keep_for_later(services: Services, waiting: list[OutboxRow],
                    refused: dict[str, AuthenticationFailed], now: datetime) -> None:
    """Mail held up by a refused login stays queued, its attempts uncounted, so nothing is
    lost or marked undeliverable while an administrator renews a secret or a password."""
    with services.uow_factory() as uow:
        for sender, error in refused.items():
            rows = [row.id for row in waiting if row.item.envelope_from == sender]
            uow.outbox.postpone(rows, now + AUTHENTICATION_RETRY, str(error))
        uow.commit()
    for sender, error in refused.items():
        held = sum(row.item.envelope_from == sender for row in waiting)
        services.count("held_by_refused_login", held)
        log.error("cannot send as %s, the login was refused: %s; %d message(s) kept queued,"
                  " next try in %s", sender, error, held, AUTHENTICATION_RETRY)


def _failed(services: Services, row: OutboxRow, now: datetime, error: str, *,
            permanent: bool) -> None:
    delay = min(BACKOFF_BASE * (2 ** row.attempts), BACKOFF_MAX)
    with services.uow_factory() as uow:
        uow.outbox.mark_failed(row.id, now, error, permanent=permanent,
                               retry_at=None if permanent else now + delay)
        uow.commit()
    level = logging.ERROR if permanent else logging.WARNING
    log.log(level, "%s to %s failed (%s): %s", row.item.template, row.item.recipient,
            "permanent" if permanent else f"retry in {delay}", error)
    if permanent:
        services.count("permanent_failures")
        try:
            _report_undeliverable(services, row, error, now)
        except Exception:  # noqa: BLE001 - the one-message boundary of the send pass
            # The row is already marked failed and the failure logged above; a report that
            # cannot be made must not hold back the mail queued behind it.
            services.count("unreported_failures")
            log.exception("could not report the undeliverable %s to %s", row.item.template,
                          row.item.recipient)


def _report_undeliverable(services: Services, row: OutboxRow, error: str, now: datetime) -> None:
    """Tells the sending partnership's business managers, and records it on the case as a
    bounce would be; never about an alert itself, so a broken business manager address cannot
    start a loop."""
    item = row.item
    context = services.for_address(item.envelope_from)
    if context is None or item.template in ALERT_TEMPLATES:
        return
    text = (f"The {item.template.replace('_', ' ')} to {item.recipient} could not be"
            f" delivered: {error}")
    with services.uow_factory() as uow:
        case = uow.cases.get(item.case_reference) if item.case_reference else None
        if case is not None:
            notices = context.engine.record_bounce(case, text, now, item.message_id,
                                                   failed_recipient=item.recipient,
                                                   diagnostic=error)
            uow.cases.save(case)
        else:
            details = BounceDetails(text=text, failed_recipient=item.recipient, diagnostic=error)
            notices = [Notice(Template.BOUNCE_ALERT, context.partnership.business_managers,
                              key=f"undeliverable:{item.message_id}", context=details)]
        queue_notices(uow, services.composer, notices, case=case, policy=context.policy,
                      sender=Person(context.policy.name, context.address), now=now)
        uow.commit()
