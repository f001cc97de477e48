"""Queueing outgoing mail: every Notice becomes one rendered outbox row per recipient.

Rows are written in the caller's unit of work, so a case change and the mail it causes
commit together. The Message-ID is fixed here, when the row is written, so a resend after
a crash carries the same ID and replies thread to it whatever happened in between.
"""

from __future__ import annotations

import logging
import secrets
from datetime import datetime, timedelta
from typing import Protocol

from mailbot.domain.case import Case
from mailbot.domain.notices import AUTO_REPLIED, OWN_MESSAGE_ID_PREFIX, Notice
from mailbot.domain.policy import Policy
from mailbot.domain.referral import Person
from mailbot.services.unit_of_work import OutboxItem, UnitOfWork

log = logging.getLogger(__name__)


class Composer(Protocol):
    """Renders a notice for one recipient into a complete RFC 5322 message."""

    def compose(self, notice: Notice, *, case: Case | None, policy: Policy | None,
                sender: Person, recipient: Person, message_id: str, now: datetime) -> bytes: ...


def new_message_id(address: str) -> str:
    """A Message-ID in the partnership's own domain, without the angle brackets."""
    domain = address.rsplit("@", 1)[-1].lower()
    return f"{OWN_MESSAGE_ID_PREFIX}{secrets.token_hex(12)}@{domain}"


def queue_notices(uow: UnitOfWork, composer: Composer, notices: list[Notice], *,
                  case: Case | None, policy: Policy | None, sender: Person, now: datetime,
                  replies_per_hour: int = 10) -> int:
    """Writes one outbox row per recipient of each notice; returns how many were new."""
    queued = 0
    for notice in notices:
        for recipient in notice.to:
            if notice.auto_submitted == AUTO_REPLIED and _over_reply_limit(
                    uow, recipient, now, replies_per_hour):
                log.warning("reply to %s not queued: over %d replies an hour (loop guard)",
                            recipient.email, replies_per_hour)
                continue
            queued += _queue_one(uow, composer, notice, case, policy, sender, recipient, now)
    return queued


def _queue_one(uow: UnitOfWork, composer: Composer, notice: Notice, case: Case | None,
               policy: Policy | None, sender: Person, recipient: Person, now: datetime) -> int:
    message_id = new_message_id(sender.email)
    data = composer.compose(notice, case=case, policy=policy, sender=sender, recipient=recipient,
                            message_id=message_id, now=now)
    item = OutboxItem(case_reference=case.reference if case else None, template=notice.template,
                      stage=notice.stage, key=notice.key, recipient=recipient.email.lower(),
                      message_id=message_id, envelope_from=sender.email, data=data)
    added = uow.outbox.enqueue(item)
    if added:
        log.debug("queued %s for %s (case %s, stage %s, Message-ID %s)", notice.template,
                 recipient.email, item.case_reference or "-", notice.stage, message_id)
    return int(added)


def _over_reply_limit(uow: UnitOfWork, recipient: Person, now: datetime, limit: int) -> bool:
    return uow.outbox.sent_count_since(recipient.email.lower(), now - timedelta(hours=1)) >= limit
