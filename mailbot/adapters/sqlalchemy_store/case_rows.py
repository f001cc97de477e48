"""Explicit mapping between the domain ``Case`` and its rows in ``cases`` and ``case_events``.

Writing goes through the values here (Core statements, or the ORM rows); reading back, and
the referral's JSON, are ``adapters.case_values`` (free of SQLAlchemy, shared with the
looking commands).
"""

from __future__ import annotations

from typing import Any

from mailbot.adapters.case_values import (
    case_columns,
    case_from_rows,
    event_from_row,
    referral_from_json,
    referral_to_json,
)
from mailbot.adapters.sqlalchemy_store.orm import CaseEventRow, CaseRow
from mailbot.domain.case import Case, Event

__all__ = ["case_columns", "case_from_rows", "case_values", "comparable", "copy_case_to_row",
           "event_from_row", "event_row", "event_values", "referral_from_json", "referral_to_json",
           "sql_values"]


def copy_case_to_row(case: Case, row: CaseRow) -> None:
    for name, value in case_values(case).items():
        setattr(row, name, value)


def case_values(case: Case) -> dict[str, Any]:
    """Every column of the case's row but its id, as the store writes them."""
    return sql_values(comparable(case))


def comparable(case: Case) -> dict[str, Any]:
    """The case's columns in a form cheap to compare with an earlier copy: the referral as
    the (frozen) object itself and the parties as tuples, made JSON only when written."""
    values = {name: getattr(case, name) for name in case_columns()}
    values["status"] = case.status.value
    values["referral"] = case.referral
    values["parties"] = {role: tuple(people) for role, people in case.parties.items()}
    return values


def sql_values(values: dict[str, Any]) -> dict[str, Any]:
    """``comparable`` values (all or some) as the columns take them."""
    written = dict(values)
    if "referral" in written:
        written["referral"] = referral_to_json(written["referral"])
    if "parties" in written:
        written["parties"] = {role: [{"name": p.name, "email": p.email} for p in people]
                              for role, people in written["parties"].items()}
    return written


def event_row(case_id: int, seq: int, event: Event) -> CaseEventRow:
    return CaseEventRow(case_id=case_id, seq=seq, at=event.at, kind=event.kind.value,
                        actor=event.actor, text=event.text, stage=event.stage,
                        source_message_id=event.source_message_id)


def event_values(case_id: int, seq: int, event: Event) -> dict[str, Any]:
    return {"case_id": case_id, "seq": seq, "at": event.at, "kind": event.kind.value,
            "actor": event.actor, "text": event.text, "stage": event.stage,
            "source_message_id": event.source_message_id}
