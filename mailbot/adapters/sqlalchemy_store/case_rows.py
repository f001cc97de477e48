"""Explicit mapping between the domain ``Case`` and its rows in ``cases`` and ``case_events``.

Writing goes through the ORM rows here; reading back, and the referral's JSON, are
``adapters.case_values`` (free of SQLAlchemy, shared with the looking commands).
"""

from __future__ import annotations

from mailbot.adapters.case_values import (
    case_columns,
    case_from_rows,
    event_from_row,
    referral_from_json,
    referral_to_json,
)
from mailbot.adapters.sqlalchemy_store.orm import CaseEventRow, CaseRow
from mailbot.domain.case import Case, Event

__all__ = ["case_columns", "case_from_rows", "copy_case_to_row", "event_from_row", "event_row",
           "referral_from_json", "referral_to_json"]


def copy_case_to_row(case: Case, row: CaseRow) -> None:
    for name in case_columns():
        setattr(row, name, getattr(case, name))
    row.status = case.status.value
    row.referral = referral_to_json(case.referral)
    row.parties = {role: [{"name": p.name, "email": p.email} for p in people]
                   for role, people in case.parties.items()}


def event_row(case_id: int, seq: int, event: Event) -> CaseEventRow:
    return CaseEventRow(case_id=case_id, seq=seq, at=event.at, kind=event.kind.value,
                        actor=event.actor, text=event.text, stage=event.stage,
                        source_message_id=event.source_message_id)
