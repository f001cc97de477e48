"""Leases: a named piece of work (a mailbox, the deadline pass) held by one worker until a time.

``take`` is one INSERT ... ON CONFLICT DO UPDATE whose update applies only when the row is the
taker's own or has run out; PostgreSQL re-checks that condition under the row's lock and
SQLite's BEGIN IMMEDIATE serialises the takers, so two workers never both hold one lease. A
worker killed with SIGKILL renews nothing: its leases run out and another worker takes them.
Times are the workers' real clocks (never `--now`), which is why servers sharing a database
keep their clocks in step (NTP); a lease is tens of seconds, a clock skew milliseconds.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import case, delete, or_, select, update
from sqlalchemy.orm import Session

from mailbot.adapters.sqlalchemy_store.orm import LeaseRow
from mailbot.adapters.sqlalchemy_store.sql import translated, upsert
from mailbot.services.stored import Lease


class SqlLeases:
    def __init__(self, session: Session):
        self._session = session

    @translated
    def take(self, name: str, holder: str, now: datetime, until: datetime) -> bool:
        """Takes or renews ``name`` for ``holder`` until ``until``: True when it is now the
        holder's; False while another holder's lease on it runs."""
        table = LeaseRow.__table__
        statement = upsert(self._session, table).values(name=name, holder=holder,
                                                        expires_at=until, since=now)
        statement = statement.on_conflict_do_update(
            index_elements=[table.c.name],
            set_={"holder": holder, "expires_at": until,
                  # Renewing keeps the moment it was taken; taking over starts it again.
                  "since": case((table.c.holder == holder, table.c.since),
                                else_=statement.excluded.since)},
            where=or_(table.c.holder == holder, table.c.expires_at < now),
        ).returning(table.c.name)
        return self._session.execute(statement).scalar_one_or_none() is not None

    @translated
    def renew(self, names: Sequence[str], holder: str, now: datetime,
              until: datetime) -> set[str]:
        """Renews, in one statement, those of ``names`` that are still ``holder``'s and have not
        run out; returns the names renewed. A lease another worker took over meanwhile is left
        alone, as ``take`` would leave it."""
        if not names:
            return set()
        statement = (update(LeaseRow)
                     .where(LeaseRow.name.in_(list(names)), LeaseRow.holder == holder,
                            LeaseRow.expires_at >= now)
                     .values(expires_at=until)
                     .returning(LeaseRow.name))
        return set(self._session.scalars(statement,
                                         execution_options={"synchronize_session": False}))

    @translated
    def release(self, names: Sequence[str], holder: str) -> None:
        """Lets go of the holder's leases at once (a clean stop, or a share handed on)."""
        if names:
            self._session.execute(delete(LeaseRow).where(LeaseRow.name.in_(list(names)),
                                                         LeaseRow.holder == holder))

    @translated
    def running(self, prefix: str, now: datetime) -> list[Lease]:
        """The leases whose names start with ``prefix`` and have not run out."""
        rows = self._session.scalars(
            select(LeaseRow).where(LeaseRow.name.startswith(prefix, autoescape=True),
                                   LeaseRow.expires_at >= now).order_by(LeaseRow.name))
        return [Lease(row.name, row.holder, row.expires_at, row.since) for row in rows]
