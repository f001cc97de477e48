"""Queueing outgoing mail: every Notice becomes one rendered outbox row per recipient.

Rows are written in the caller's unit of work, so a case change and the mail it causes
commit together. The Message-ID is fixed here, when the row is written, so a resend after
a crash carries the same ID and replies thread to it whatever happened in between.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from mailbot.domain.case import Case
from mailbot.domain.notices import (
    ANSWER_TEMPLATES,
    AUTO_REPLIED,
    OWN_MESSAGE_ID_PREFIX,
    Notice,
    Template,
)
from mailbot.domain.policy import Policy
from mailbot.domain.referral import Person
from mailbot.domain.service_notice_contexts import ForAttention
from mailbot.services.ports import Composer, UnitOfWork
from mailbot.services.stored import MailWaiting, OutboxItem

log = logging.getLogger(__name__)


def new_message_id(address: str) -> str:
    """A Message-ID in the partnership's own domain, without the angle brackets."""
    domain = address.rsplit("@", 1)[-1].lower()
    return f"{OWN_MESSAGE_ID_PREFIX}{secrets.token_hex(12)}@{domain}"


@dataclass(frozen=True)
class ReplyGuard:
    """The loop guard: at most ``per_hour`` automatic answers (confirmations, refusals,
    please-correct replies) to one address an hour, so two auto-responders cannot ping-pong.
    Other mail to that address does not count. The ``exempt`` addresses (the business
    managers, whose commands must always be answered) are never limited; when an answer is
    held back, ``alert_to`` is told, once an hour per address."""

    per_hour: int = 10
    exempt: frozenset[str] = frozenset()
    alert_to: tuple[Person, ...] = ()


def queue_notices(uow: UnitOfWork, composer: Composer, notices: list[Notice], *,
                  case: Case | None, policy: Policy | None, sender: Person, now: datetime,
                  replies_per_hour: int = 10, guard: ReplyGuard | None = None,
                  held: frozenset[str] = frozenset()) -> int:
    """Writes one outbox row per recipient of each notice; returns how many were new. Rows to
    the ``held`` addresses are kept back until the case is accepted. The rows go to the store
    together, but before any answer the loop guard counts, so it counts them all. When the
    unit of work keeps mail waiting (``UnitOfWork.mail_waiting``), the rows are left there
    for the use case to store with the rest of its mail, in one statement, unless they come
    to more than WAITING_BYTES (a chunk of decisions, each with its .docx attachments)."""
    guard = guard or ReplyGuard(replies_per_hour)
    waiting = MailWaiting() if uow.mail_waiting is None else uow.mail_waiting
    queued = 0
    with composer.same_case():  # the case is not changed while its notices are composed
        for notice in notices:
            for recipient in notice.to:
                address = recipient.email.lower()
                if notice.auto_submitted == AUTO_REPLIED and address not in guard.exempt:
                    queued += store_waiting(uow, waiting)
                    if _over_reply_limit(uow, address, now, guard):
                        _held_back(uow, composer, notice, policy, sender, recipient, now, guard)
                        continue
                waiting.add(notice, _compose(composer, notice, case, policy, sender,
                                             recipient, now, held=address in held))
    if uow.mail_waiting is None or waiting.size > WAITING_BYTES:
        queued += store_waiting(uow, waiting)
    return queued


WAITING_BYTES = 8 * 1024 * 1024  # of composed mail a unit of work keeps back at most


def _compose(composer: Composer, notice: Notice, case: Case | None, policy: Policy | None,
             sender: Person, recipient: Person, now: datetime, held: bool = False) -> OutboxItem:
    message_id = new_message_id(sender.email)
    data = composer.compose(notice, case=case, policy=policy, sender=sender, recipient=recipient,
                            message_id=message_id, now=now)
    return OutboxItem(case_reference=case.reference if case else None, template=str(notice.template),
                      stage=notice.stage, key=notice.key, recipient=recipient.email.lower(),
                      message_id=message_id, envelope_from=sender.email, data=data, held=held)


def store_mail_waiting(uow: UnitOfWork) -> int:
    """Stores the mail the unit of work keeps waiting, if any; returns how many were new."""
    return store_waiting(uow, uow.mail_waiting) if uow.mail_waiting else 0


def store_waiting(uow: UnitOfWork, waiting: MailWaiting) -> int:
    """Stores the rows waiting, leaving none; returns how many were new."""
    return _store(uow, waiting.take())


def _store(uow: UnitOfWork, rows: list[tuple[Notice, OutboxItem]]) -> int:
    added = uow.outbox.enqueue_many([item for _, item in rows])
    for (notice, item), new in zip(rows, added, strict=True):
        if new:
            # Held mail is worth a line: it waits for a business manager. Queued mail is
            # logged when it is sent.
            log.log(logging.INFO if item.held else logging.DEBUG, "%s %s for %s (case %s,"
                    " stage %s, Message-ID %s)", "held" if item.held else "queued",
                    notice.template, item.recipient, item.case_reference or "-", notice.stage,
                    item.message_id)
    return sum(added)


def _over_reply_limit(uow: UnitOfWork, address: str, now: datetime, guard: ReplyGuard) -> bool:
    if address in guard.exempt:
        return False
    since = now - timedelta(hours=1)
    return uow.outbox.answers_since(address, since, ANSWER_TEMPLATES) >= guard.per_hour


def _held_back(uow: UnitOfWork, composer: Composer, notice: Notice, policy: Policy | None,
               sender: Person, recipient: Person, now: datetime, guard: ReplyGuard) -> None:
    log.warning("%s to %s not queued: over %d automatic answers an hour (loop guard)",
                notice.template, recipient.email, guard.per_hour)
    if not guard.alert_to:
        return
    alert = Notice(Template.FOR_ATTENTION, guard.alert_to,
                   key=f"loop-guard:{recipient.email.lower()}@{now:%Y%m%dT%H}",
                   context=ForAttention(
                       heading="An automatic answer was held back",
                       sender=recipient.formatted(), verified=True, text="",
                       happened=[
                           f"mailbot did not send its {notice.template.replace('_', ' ')}"
                           f" to {recipient.email}: that address has had {guard.per_hour}"
                           " automatic answers in the last hour, which is how a loop"
                           " between two automatic responders looks.",
                           "If a person is writing from that address, answer them"
                           " yourself; answers resume within the hour."]))
    _store(uow, [(alert, _compose(composer, alert, None, policy, sender, person, now))
                 for person in guard.alert_to])
