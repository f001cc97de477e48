"""Use case: an operator releases a quarantined message (``mailbot quarantine release``).

Intake sets aside a message it could not act on (``intake._act_in``) and keeps its bytes;
this runs it through intake once more, as Mailman's ``unshunt`` does for its shunt queue.
"""

from __future__ import annotations

import logging
from datetime import datetime

from mailbot.intake.message import parse_message
from mailbot.services.context import Services
from mailbot.services.intake import is_transient
from mailbot.services.message_routing import Handled, act_on
from mailbot.services.stored import InboundStatus

log = logging.getLogger(__name__)


def release_quarantined(services: Services, record_id: int, now: datetime) -> Handled:
    """Back to received and acted on in one transaction, so it is acted on exactly once even
    with a worker running. Raises LookupError when there is no such quarantined message; when
    it fails again it stays quarantined with the new reason (the operator is told, not the
    business managers again) and the error goes up."""
    with services.uow_factory() as uow:
        stored = uow.upkeep.stored_one(record_id)
        if stored is None or stored.status != InboundStatus.QUARANTINED:
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
            handled = act_on(services, uow, mailbox, message, now)
            uow.inbound.mark(record_id, handled.status, handled.case_reference, handled.note)
            uow.commit()
    except LookupError:
        raise
    except Exception as error:
        if not is_transient(error):
            with services.uow_factory() as uow:
                uow.inbound.mark(record_id, InboundStatus.QUARANTINED, None,
                                 f"{type(error).__name__}: {error}")
                uow.commit()
        raise
    log.info("message %s released from quarantine: %s%s", record_id, handled.status,
             f" (case {handled.case_reference})" if handled.case_reference else "")
    return handled
