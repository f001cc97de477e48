"""What the reply use case keeps to refuse replays and relays: the command messages already
acted on, and the addresses a partnership's business managers have vouched for."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from mailbot.adapters.sqlalchemy_store.orm import CommandMessageRow, KnownAddressRow
from mailbot.adapters.sqlalchemy_store.sql import translated, upsert


class SqlCommandLog:
    def __init__(self, session: Session):
        self._session = session

    @translated
    def acted_on(self, mailbox: str, keys: Sequence[str]) -> str | None:
        """The case a message with any of these keys was acted on for, or None."""
        if not keys:
            return None
        return self._session.scalar(
            select(CommandMessageRow.case_reference)
            .where(CommandMessageRow.mailbox == mailbox, CommandMessageRow.key.in_(list(keys)))
            .limit(1))

    @translated
    def remember(self, mailbox: str, keys: Sequence[str], case_reference: str,
                 at: datetime) -> None:
        table = CommandMessageRow.__table__
        for key in keys:
            self._session.execute(upsert(self._session, table).values(
                mailbox=mailbox, key=key, case_reference=case_reference, at=at,
            ).on_conflict_do_nothing())


_KNOWN_TABLE = KnownAddressRow.__table__
# Built once: mail queued about a case not yet accepted asks this for every notice.
_KNOWN = select(_KNOWN_TABLE.c.address).where(
    _KNOWN_TABLE.c.mailbox == bindparam("mailbox"),
    _KNOWN_TABLE.c.address.in_(bindparam("addresses", expanding=True)))


class SqlKnownAddresses:
    """``look_up`` asks about many addresses at once; ``known`` then answers about them from
    memory. A vouch another worker commits meanwhile may be missed: mail to that address is
    then held, as it would have been a moment earlier, and goes when the case is accepted."""

    def __init__(self, session: Session):
        self._session = session
        self._looked_up: dict[str, dict[str, bool]] = {}  # mailbox: {address: vouched for}

    @translated
    def known(self, mailbox: str, addresses: Iterable[str]) -> set[str]:
        wanted = {a.lower() for a in addresses}
        answers = self._looked_up.get(mailbox, {})
        if not wanted <= answers.keys():
            return self._select(mailbox, wanted)
        return {address for address in wanted if answers[address]}

    @translated
    def look_up(self, mailbox: str, addresses: Iterable[str]) -> None:
        wanted = {a.lower() for a in addresses if a}
        known = self._select(mailbox, wanted)
        self._looked_up.setdefault(mailbox, {}).update(
            (address, address in known) for address in wanted)

    def _select(self, mailbox: str, wanted: set[str]) -> set[str]:
        if not wanted:
            return set()
        return set(self._session.scalars(_KNOWN, {"mailbox": mailbox,
                                                  "addresses": sorted(wanted)}))

    @translated
    def vouch(self, mailbox: str, addresses: Iterable[str], at: datetime) -> None:
        table = KnownAddressRow.__table__
        for address in sorted({a.lower() for a in addresses if a}):
            self._session.execute(upsert(self._session, table).values(
                mailbox=mailbox, address=address, vouched_at=at,
            ).on_conflict_do_nothing())
            # Asked again next time, not remembered as vouched for: a savepoint may yet undo this.
            self._looked_up.get(mailbox, {}).pop(address, None)
