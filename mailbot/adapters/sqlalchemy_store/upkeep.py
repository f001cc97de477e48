"""What an operator looks at and puts right: the messages set aside (quarantined), the
outgoing mail queued or given up, and the counts `mailbot status` reports.

Kept apart from the inbound log and the outbox, which the passes use, so that looking
after the worker never changes how a pass claims or marks its rows.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, func, select, update
from sqlalchemy.orm import Session

from mailbot.adapters.sqlalchemy_store.orm import InboundMessageRow, OutboxMessageRow
from mailbot.adapters.sqlalchemy_store.outbox import AT_ONCE, FAILED, QUEUED
from mailbot.adapters.sqlalchemy_store.sql import translated
from mailbot.services.stored import OutgoingEntry, StoredMessage

QUARANTINED, RECEIVED = "quarantined", "received"


class SqlUpkeep:
    def __init__(self, session: Session):
        self._session = session

    @translated
    def stored(self, status: str, limit: int = 1000) -> list[StoredMessage]:
        """Stored messages in one status (e.g. quarantined), oldest first."""
        rows = self._session.execute(
            select(InboundMessageRow.id, InboundMessageRow.mailbox, InboundMessageRow.message_id,
                   InboundMessageRow.status, InboundMessageRow.received_at, InboundMessageRow.error)
            .where(InboundMessageRow.status == status).order_by(InboundMessageRow.id).limit(limit))
        return [StoredMessage(*row) for row in rows]

    @translated
    def stored_one(self, record_id: int) -> StoredMessage | None:
        row = self._session.execute(
            select(InboundMessageRow.id, InboundMessageRow.mailbox, InboundMessageRow.message_id,
                   InboundMessageRow.status, InboundMessageRow.received_at, InboundMessageRow.error)
            .where(InboundMessageRow.id == record_id)).one_or_none()
        return None if row is None else StoredMessage(*row)

    @translated
    def reopen(self, record_id: int) -> bool:
        """A quarantined message back to received, inside the caller's transaction (which then
        acts on it); False when it is not quarantined (released already, or never was)."""
        result = self._session.execute(
            update(InboundMessageRow)
            .where(InboundMessageRow.id == record_id, InboundMessageRow.status == QUARANTINED)
            .values(status=RECEIVED, error=""))
        return result.rowcount == 1

    @translated
    def inbound_counts(self, mailbox: str) -> dict[str, int]:
        rows = self._session.execute(
            select(InboundMessageRow.status, func.count())
            .where(InboundMessageRow.mailbox == mailbox,
                   InboundMessageRow.status.in_([RECEIVED, QUARANTINED]))
            .group_by(InboundMessageRow.status))
        return {status: int(count) for status, count in rows}

    @translated
    def outgoing(self, statuses: tuple[str, ...] = (QUEUED, FAILED),
                 limit: int = 1000) -> list[OutgoingEntry]:
        rows = self._session.execute(
            _outgoing_entries()
            .where(OutboxMessageRow.status.in_(list(statuses)))
            .order_by(OutboxMessageRow.id).limit(limit))
        return [OutgoingEntry(*row) for row in rows]

    @translated
    def outgoing_one(self, row_id: int) -> OutgoingEntry | None:
        row = self._session.execute(
            _outgoing_entries()
            .where(OutboxMessageRow.id == row_id)).one_or_none()
        return None if row is None else OutgoingEntry(*row)

    @translated
    def outgoing_counts(self, envelope_from: str) -> dict[str, int]:
        rows = self._session.execute(
            select(OutboxMessageRow.status, func.count())
            .where(OutboxMessageRow.envelope_from == envelope_from,
                   OutboxMessageRow.status.in_([QUEUED, FAILED]))
            .group_by(OutboxMessageRow.status))
        return {status: int(count) for status, count in rows}

    @translated
    def retry(self, row_id: int) -> bool:
        """A queued or given-up row due at once, its attempts counted afresh; False when there
        is no such row or it was sent already (or is held for a case not yet accepted)."""
        result = self._session.execute(
            update(OutboxMessageRow)
            .where(OutboxMessageRow.id == row_id, OutboxMessageRow.status.in_([QUEUED, FAILED]))
            .values(status=QUEUED, next_attempt_at=AT_ONCE, attempts=0))
        return result.rowcount == 1


def _outgoing_entries() -> Select[Any]:
    """The outbox columns an ``OutgoingEntry`` holds, in its order."""
    return select(OutboxMessageRow.id, OutboxMessageRow.status, OutboxMessageRow.template,
                  OutboxMessageRow.recipient, OutboxMessageRow.case_reference,
                  OutboxMessageRow.envelope_from, OutboxMessageRow.attempts,
                  OutboxMessageRow.next_attempt_at, OutboxMessageRow.last_error)
