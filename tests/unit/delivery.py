"""Delivering one message to the use cases the way the worker does: the batch is stored
(``store_messages``), then whatever is pending is acted on (``act_on_pending``).

``deliver_raw`` answers with what the store then says of the message, so a test can see a
case opened, a message quarantined, or a replay stored nothing new.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from mailbot.services.context import MailboxContext, Services
from mailbot.services.intake import act_on_pending, store_messages
from mailbot.services.ports import RawMessage


@dataclass(frozen=True)
class Delivered:
    status: str  # the stored message's status, or "replay" when it had been stored before
    case_reference: str | None = None


def deliver_raw(services: Services, mailbox: MailboxContext, raw: RawMessage, now: datetime) -> Delivered:
    if not store_messages(services, [raw]):
        return Delivered("replay")
    act_on_pending(services, mailbox, lambda: now)
    with services.uow_factory() as uow:
        record = uow.inbound.find(raw.mailbox, raw.uidvalidity, raw.uid, raw.data)
    assert record is not None, "a stored message is found again"
    return Delivered(record.status, record.case_reference)
