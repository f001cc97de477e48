"""Use case, within acting on a message: a delivery failure report for mail we sent.

``message_routing`` hands over a message the classifier called a bounce. The bounce is
recorded on the case the bounced mail was about, and the business managers are told, with
care not to start a loop of alerts about alerts (``_bounce_alerts``).
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import datetime

from mailbot.domain.notices import ALERT_TEMPLATES, Notice
from mailbot.intake.message import InboundMessage
from mailbot.services import outgoing
from mailbot.services.context import MailboxContext, Services
from mailbot.services.ports import UnitOfWork
from mailbot.services.stored import SentMessage

log = logging.getLogger(__name__)


def record_bounce(services: Services, uow: UnitOfWork, mailbox: MailboxContext,
                  message: InboundMessage, bounced_ids: tuple[str, ...],
                  now: datetime) -> str | None:
    """Records the bounce on the case of the first bounced mail we can match to one and
    queues the alerts. Returns that case's reference, or None when none matched."""
    for sent in uow.outbox.lookup(list(bounced_ids)):
        case = uow.cases.get(sent.case_reference) if sent.case_reference else None
        if case is None:
            continue
        text = (f"Mail about {case.reference} to {sent.recipient} ({sent.template}) could not"
                f" be delivered: {message.subject or 'delivery failure report'}")
        notices = mailbox.engine.record_bounce(case, text, now, message.message_id)
        uow.cases.save(case)
        outgoing.queue_for(services, uow, mailbox, _bounce_alerts(mailbox, sent, notices, now),
                           case, now)
        return case.reference
    return None


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
