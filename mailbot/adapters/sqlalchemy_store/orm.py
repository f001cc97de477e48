"""The database tables, as SQLAlchemy declarative rows; the schema Alembic migrates to.

These rows are storage, not the domain: ``case_rows`` maps them to and from ``Case``
explicitly, and the repositories never hand a row to the service layer. Every timestamp is
stored in UTC and comes back timezone-aware, whatever the database.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

# Fixed constraint names, so a migration written today matches what autogenerate expects.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# The partial index's condition; due_for_chasing repeats it word for word, so that the
# planner can see the query implies it even when the statement is prepared in advance.
OPEN_CASES = "status = 'open'"

ADDRESS = 320  # the longest an email address can be (RFC 3696 erratum 1690)
MESSAGE_ID = 998  # a header line's limit; a Message-ID is never longer


class UtcDateTime(TypeDecorator[datetime]):
    """A timezone-aware datetime, stored as UTC; a naive one is refused, not guessed at."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value.isoformat()} given to the store; "
                             "mailbot keeps every time timezone-aware")
        value = value.astimezone(UTC)
        # SQLite has no time zones: keep UTC wall time, so text order is time order.
        return value if dialect.name == "postgresql" else value.replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class CaseRow(Base):
    __tablename__ = "cases"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    reference: Mapped[str] = mapped_column(String(40), unique=True)
    policy_key: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))
    stage: Mapped[int] = mapped_column(Integer)
    phase: Mapped[int] = mapped_column(Integer)
    deadline: Mapped[datetime | None] = mapped_column(UtcDateTime)
    deadline_started_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    stage_entered_at: Mapped[datetime] = mapped_column(UtcDateTime)
    opened_at: Mapped[datetime] = mapped_column(UtcDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    anonymised_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    next_chase_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    chase_points_passed: Mapped[int] = mapped_column(Integer)
    outcome: Mapped[str] = mapped_column(Text)
    decision: Mapped[str] = mapped_column(Text)
    referral: Mapped[dict[str, Any]] = mapped_column(JSON)
    parties: Mapped[dict[str, Any]] = mapped_column(JSON)
    submitted_by: Mapped[str] = mapped_column(String(ADDRESS), server_default="")
    accepted_at: Mapped[datetime | None] = mapped_column(UtcDateTime)

    __table_args__ = (
        # The deadline pass asks for open cases whose next chase point has come; only open
        # cases are in this index, so it stays as small as the live caseload.
        Index("ix_cases_due", "next_chase_at",
              sqlite_where=text(OPEN_CASES), postgresql_where=text(OPEN_CASES)),
    )


class CaseEventRow(Base):
    """One line of a case's history; written once, never updated or deleted."""

    __tablename__ = "case_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="RESTRICT"))
    seq: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    kind: Mapped[str] = mapped_column(String(40))
    actor: Mapped[str] = mapped_column(String(ADDRESS))
    text: Mapped[str] = mapped_column(Text)
    stage: Mapped[int] = mapped_column(Integer)
    source_message_id: Mapped[str | None] = mapped_column(String(MESSAGE_ID))

    __table_args__ = (UniqueConstraint("case_id", "seq"),)


class ReferenceCounterRow(Base):
    """The last case number given out per prefix and year; it only ever goes up."""

    __tablename__ = "reference_counters"

    prefix: Mapped[str] = mapped_column(String(16), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_number: Mapped[int] = mapped_column(Integer)


PENDING = "status = 'received'"


class InboundMessageRow(Base):
    """A raw message, stored (zlib-compressed) before anything acts on it."""

    __tablename__ = "inbound_messages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    mailbox: Mapped[str] = mapped_column(String(100))
    uidvalidity: Mapped[int] = mapped_column(BigInteger)  # IMAP's is an unsigned 32-bit number
    uid: Mapped[str] = mapped_column(String(255))
    message_id: Mapped[str] = mapped_column(String(MESSAGE_ID))
    sha256: Mapped[str] = mapped_column(String(64))
    raw: Mapped[bytes] = mapped_column(LargeBinary)
    status: Mapped[str] = mapped_column(String(16))
    case_reference: Mapped[str | None] = mapped_column(String(40))
    error: Mapped[str] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime)

    __table_args__ = (
        UniqueConstraint("mailbox", "uidvalidity", "uid"),
        # The same bytes are the same message only within one mailbox: one email sent to two
        # partnerships is a message for each (issue 14).
        UniqueConstraint("mailbox", "sha256"),
        # Messages stored but not yet acted on, oldest first: only those are in this index,
        # so finding the work left by a crashed pass costs nothing however long the log grows.
        Index("ix_inbound_pending", "mailbox", "id",
              sqlite_where=text(PENDING), postgresql_where=text(PENDING)),
    )


class OutboxMessageRow(Base):
    """One email to one recipient. A missing case or stage is stored as '' or 0, never
    NULL: NULLs are all distinct in a unique constraint, which would then not bite."""

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_reference: Mapped[str] = mapped_column(String(40))
    template: Mapped[str] = mapped_column(String(64))
    stage: Mapped[int] = mapped_column(Integer)
    key: Mapped[str] = mapped_column(String(200))
    recipient: Mapped[str] = mapped_column(String(ADDRESS))
    message_id: Mapped[str] = mapped_column(String(MESSAGE_ID), unique=True)
    envelope_from: Mapped[str] = mapped_column(String(ADDRESS))
    data: Mapped[bytes] = mapped_column(LargeBinary)
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer)
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime)
    last_error: Mapped[str] = mapped_column(Text)
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    # Until when a send pass holds the row (the worker's real clock): one pass sends it.
    claimed_until: Mapped[datetime | None] = mapped_column(UtcDateTime)

    __table_args__ = (
        UniqueConstraint("case_reference", "template", "stage", "key", "recipient"),
        Index("ix_outbox_due", "status", "next_attempt_at"),
        Index("ix_outbox_recipient", "recipient", "sent_at"),
    )


class CommandMessageRow(Base):
    """A command message acted on, by its Message-ID and by its sender, date and text (both
    hashed): a second message matching either is a replay and changes nothing."""

    __tablename__ = "command_messages"

    mailbox: Mapped[str] = mapped_column(String(100), primary_key=True)
    key: Mapped[str] = mapped_column(String(80), primary_key=True)
    case_reference: Mapped[str] = mapped_column(String(40))
    at: Mapped[datetime] = mapped_column(UtcDateTime)


class KnownAddressRow(Base):
    """An address a partnership's business managers have vouched for (by ACCEPT or ASSIGN)."""

    __tablename__ = "known_addresses"

    mailbox: Mapped[str] = mapped_column(String(100), primary_key=True)
    address: Mapped[str] = mapped_column(String(ADDRESS), primary_key=True)
    vouched_at: Mapped[datetime] = mapped_column(UtcDateTime)


class StateRow(Base):
    __tablename__ = "state"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class LeaseRow(Base):
    """Who works a mailbox or a job (or, for ``worker:...``, that a worker is alive), until when."""

    __tablename__ = "leases"

    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    holder: Mapped[str] = mapped_column(String(200))
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)
    since: Mapped[datetime] = mapped_column(UtcDateTime)  # when this holder took it
