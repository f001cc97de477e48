"""The partnership's view of its cases: bulk reads for the digest, the thematic report and
subject access, and the one place where a stored case is rewritten, for retention.

Reads here take no row locks: a digest or a report must never hold up a reply being acted
on. The report reads only the columns and JSON keys it counts (never a name or a date of
birth), so the child's details do not even pass through its memory. ``replace_anonymised``
is the deliberate exception to the append-only history of ``cases.py``: when a case's
retention period ends, the text and actors of its events are blanked in place.
"""

from __future__ import annotations

import zlib
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import String, and_, bindparam, cast, func, literal, or_, select, update
from sqlalchemy import case as sql_case
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from mailbot.adapters.sqlalchemy_store.case_rows import case_from_rows, copy_case_to_row, event_row
from mailbot.adapters.sqlalchemy_store.orm import (
    CaseEventRow,
    CaseRow,
    InboundMessageRow,
    OutboxMessageRow,
)
from mailbot.adapters.sqlalchemy_store.sql import translated
from mailbot.domain.case import Case, CaseStatus, EventKind
from mailbot.domain.digest import CaseDates
from mailbot.domain.errors import PermanentError
from mailbot.domain.referral import AgencyType
from mailbot.domain.reporting import CaseOutline
from mailbot.services.stored import ChildOnRecord, InboundStatus, MailErased, OutboxStatus

QUEUED, SENT, FAILED = (OutboxStatus.QUEUED.value, OutboxStatus.SENT.value,
                        OutboxStatus.FAILED.value)
PROCESSED, IGNORED = InboundStatus.PROCESSED.value, InboundStatus.IGNORED.value
EMPTY_RAW = zlib.compress(b"")  # raw mail is kept compressed: emptied, it is this


class SqlCaseRecords:
    def __init__(self, session: Session):
        self._session = session

    # --- the weekly digest -------------------------------------------------------------

    @translated
    def open_cases(self, policy_key: str) -> list[Case]:
        rows = list(self._session.scalars(
            select(CaseRow).where(CaseRow.policy_key == policy_key, CaseRow.status == "open")))
        return self._with_history(rows)

    @translated
    def opened_or_closed(self, policy_key: str, since: datetime, until: datetime) -> list[CaseDates]:
        """Cases of the policy opened, or closed, in [since, until)."""
        opened = and_(CaseRow.opened_at >= since, CaseRow.opened_at < until)
        closed = and_(CaseRow.closed_at >= since, CaseRow.closed_at < until)
        rows = self._session.execute(
            select(CaseRow.reference, CaseRow.status, CaseRow.stage, CaseRow.opened_at,
                   CaseRow.closed_at)
            .where(CaseRow.policy_key == policy_key, or_(opened, closed))
            .order_by(CaseRow.opened_at, CaseRow.reference))
        return [CaseDates(ref, CaseStatus(status), stage, opened_at, closed_at)
                for ref, status, stage, opened_at, closed_at in rows]

    def _with_history(self, rows: Sequence[CaseRow]) -> list[Case]:
        events: dict[int, list[CaseEventRow]] = defaultdict(list)
        ids = [row.id for row in rows]
        for start in range(0, len(ids), 500):
            for event in self._session.scalars(
                    select(CaseEventRow).where(CaseEventRow.case_id.in_(ids[start:start + 500]))
                    .order_by(CaseEventRow.case_id, CaseEventRow.seq)):
                events[event.case_id].append(event)
        return [case_from_rows(row, events[row.id]) for row in rows]

    # --- the thematic report -----------------------------------------------------------

    @translated
    def outlines(self, start: datetime, end: datetime,
                 policy_keys: Sequence[str] | None = None) -> list[CaseOutline]:
        """Every case open at some moment of [start, end), as the report reads it."""
        alive = and_(CaseRow.opened_at < end,
                     or_(CaseRow.closed_at.is_(None), CaseRow.closed_at >= start))
        if policy_keys is not None:
            alive = and_(alive, CaseRow.policy_key.in_(list(policy_keys)))
        events: dict[int, list[tuple]] = defaultdict(list)
        for case_id, at, kind, stage in self._session.execute(
                select(CaseEventRow.case_id, CaseEventRow.at, CaseEventRow.kind, CaseEventRow.stage)
                .join(CaseRow, CaseRow.id == CaseEventRow.case_id).where(alive)
                .order_by(CaseEventRow.case_id, CaseEventRow.seq)):
            events[case_id].append((at, EventKind(kind), stage))
        referral = CaseRow.referral
        rows = self._session.execute(
            select(CaseRow.id, CaseRow.reference, CaseRow.policy_key, CaseRow.status,
                   CaseRow.opened_at, CaseRow.closed_at, CaseRow.stage,
                   referral["disagreement_category"].as_string(),
                   referral["referrer_agency_type"].as_string(),
                   referral["other_agency_type"].as_string())
            .where(alive).order_by(CaseRow.opened_at, CaseRow.reference))
        return [CaseOutline(ref, key, CaseStatus(status), opened, closed, stage, category or "",
                            _agency(by), _agency(about), tuple(events[case_id]))
                for case_id, ref, key, status, opened, closed, stage, category, by, about in rows]

    # --- subject access ----------------------------------------------------------------

    @translated
    def children(self) -> list[ChildOnRecord]:
        """The child's name and date of birth of every case that still holds them."""
        referral = CaseRow.referral
        rows = self._session.execute(
            select(CaseRow.reference, CaseRow.policy_key, CaseRow.status, CaseRow.opened_at,
                   referral["child_name"].as_string(), referral["child_dob"].as_string())
            .where(CaseRow.anonymised_at.is_(None)).order_by(CaseRow.opened_at, CaseRow.reference))
        return [ChildOnRecord(ref, key, CaseStatus(status), opened, name or "", dob or "")
                for ref, key, status, opened, name, dob in rows]

    # --- retention ---------------------------------------------------------------------

    @translated
    def closed_before(self, moment: datetime) -> list[tuple[str, str, datetime]]:
        """(reference, policy key, closed at) of closed cases not yet anonymised that closed
        before ``moment``, oldest first."""
        rows = self._session.execute(
            select(CaseRow.reference, CaseRow.policy_key, CaseRow.closed_at)
            .where(CaseRow.status != "open", CaseRow.anonymised_at.is_(None), CaseRow.closed_at < moment)
            .order_by(CaseRow.closed_at, CaseRow.reference))
        return [(ref, key, closed_at) for ref, key, closed_at in rows]

    @translated
    def get_for_update(self, reference: str) -> Case | None:
        """The case, its row locked until commit; not tracked, so only ``replace_anonymised``
        writes it back."""
        row = self._session.scalars(
            select(CaseRow).where(CaseRow.reference == reference).with_for_update()).one_or_none()
        return None if row is None else self._with_history([row])[0]

    @translated
    def replace_anonymised(self, case: Case) -> None:
        """Writes an anonymised case over its stored self: the columns, each stored event's
        actor, text and source, and the events added since it was read."""
        if case.anonymised_at is None:
            raise PermanentError(f"{case.reference} is not anonymised; its history is append-only")
        row = self._session.scalars(select(CaseRow).where(CaseRow.reference == case.reference)
                                    .with_for_update()).one()
        copy_case_to_row(case, row)
        stored = len(list(self._session.scalars(
            select(CaseEventRow.seq).where(CaseEventRow.case_id == row.id))))
        table = CaseEventRow.__table__
        self._session.execute(
            update(table).where(table.c.case_id == row.id, table.c.seq == bindparam("b_seq"))
            .values(actor=bindparam("b_actor"), text=bindparam("b_text"),
                    source_message_id=bindparam("b_source")),
            [{"b_seq": seq, "b_actor": e.actor, "b_text": e.text, "b_source": e.source_message_id}
             for seq, e in enumerate(case.history[:stored], start=1)])
        for seq, event in enumerate(case.history[stored:], start=stored + 1):
            self._session.add(event_row(row.id, seq, event))
        self._session.flush()

    @translated
    def erase_mail(self, reference: str, note: str) -> MailErased:
        """Removes the raw emails of a case: what came in (kept compressed) and what went out,
        with the addresses it went to; mail still queued is given up rather than sent empty."""
        inbound = self._session.execute(
            update(InboundMessageRow).where(InboundMessageRow.case_reference == reference)
            .values(raw=EMPTY_RAW, error=""))
        out = OutboxMessageRow
        outbox = self._session.execute(
            update(out).where(out.case_reference == reference)
            .values(data=b"", key="", last_error=note,
                    # Each row keeps a recipient of its own, so the unique key still holds.
                    recipient=literal("removed:") + cast(out.id, String),
                    status=sql_case((out.status == QUEUED, FAILED), else_=out.status)))
        return MailErased(inbound.rowcount, outbox.rowcount)

    def erase_unlinked_mail(self, before: datetime, note: str, dry_run: bool) -> MailErased:
        """Empties the raw text of mail that no case holds, once done with: inbound mail acted
        on or ignored (never one quarantined or still to act on), outgoing mail sent or given
        up (never one queued or held). Each row stays, with its Message-ID and checksum, so a
        copy that comes again is still known; only what a person wrote goes."""
        inbound, out = InboundMessageRow, OutboxMessageRow
        inbound_rows = and_(inbound.case_reference.is_(None),
                            inbound.status.in_((PROCESSED, IGNORED)),
                            inbound.received_at < before, inbound.raw != EMPTY_RAW)
        outbox_rows = and_(out.case_reference == "", out.status.in_((SENT, FAILED)),
                           out.created_at < before, out.data != b"")
        if dry_run:
            return MailErased(self._count(inbound, inbound_rows), self._count(out, outbox_rows))
        emptied_in = self._session.execute(
            update(inbound).where(inbound_rows).values(raw=EMPTY_RAW, error=""))
        emptied_out = self._session.execute(
            update(out).where(outbox_rows)
            .values(data=b"", last_error=note, recipient=literal("removed:") + cast(out.id, String)))
        return MailErased(emptied_in.rowcount, emptied_out.rowcount)

    def _count(self, table: type[InboundMessageRow | OutboxMessageRow],
               rows: ColumnElement[bool]) -> int:
        return self._session.scalar(select(func.count()).select_from(table).where(rows)) or 0


def _agency(value: str | None) -> AgencyType | None:
    return AgencyType(value) if value else None
