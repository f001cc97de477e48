"""Retention: when a closed case's personal data is due for removal, and what stays after it.

A closed case keeps its personal data for a number of years after it closed (the config
sets it; ``DEFAULT_YEARS`` otherwise). Past that, ``anonymise`` removes the child's name
and date of birth, the names and addresses of everyone on the case, and every free text
(the summary, outcomes, decisions, notes, the text of each event), and keeps what the
thematic report counts: the reference, the dates, the stages and the kind and time of each
event, the category of disagreement and the agency types. What stays is listed; anything
not listed is removed. Pure: ``now`` is an argument.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any

from mailbot.domain.case import Case, Event, EventKind
from mailbot.domain.deadline_pass import SYSTEM as SYSTEM_ACTOR  # the engine itself: not a person
from mailbot.domain.referral import Referral

# Six years after closure: the Limitation Act 1980's six years for a claim, which is what
# local authorities' retention schedules commonly use for records kept about a case that
# is not the child's own file (the record itself goes onto the child's file).
DEFAULT_YEARS = 6

# The only answers of the form that survive: none names or describes a person.
KEPT_REFERRAL_FIELDS = frozenset({
    "date_of_notification", "referrer_agency_type", "other_agency_type",
    "disagreement_category", "stage_reached",
})
# The case's own fields that survive: its reference, where it stands and its dates. Every
# other field, a field added later included, goes back to its default, so a new field that
# holds personal data is removed unless someone decides here that it may stay.
KEPT_CASE_FIELDS = frozenset({
    "reference", "policy_key", "status", "stage", "phase", "opened_at", "stage_entered_at",
    "deadline", "deadline_started_at", "chase_points_passed", "next_chase_at", "closed_at",
    "accepted_at",
})


def retention_ends(closed_at: datetime, years: int) -> datetime:
    """The moment a case closed at ``closed_at`` is past a retention of ``years``."""
    try:
        return closed_at.replace(year=closed_at.year + years)
    except ValueError:  # closed on 29 February; the period ends on 28 February
        return closed_at.replace(year=closed_at.year + years, day=28)


def is_due(case_closed_at: datetime | None, years: int, now: datetime) -> bool:
    return case_closed_at is not None and retention_ends(case_closed_at, years) <= now


def anonymised_referral(referral: Referral) -> Referral:
    """The referral with every answer but ``KEPT_REFERRAL_FIELDS`` back at its empty default."""
    kept: dict[str, Any] = {name: getattr(referral, name) for name in KEPT_REFERRAL_FIELDS}
    empty: dict[str, Any] = {f.name: _empty(f) for f in dataclasses.fields(Referral)
             if f.name not in KEPT_REFERRAL_FIELDS}
    return Referral(**empty, **kept)


def _empty(field: dataclasses.Field[Any]) -> object:
    if field.default is not dataclasses.MISSING:
        return field.default
    if field.default_factory is not dataclasses.MISSING:
        return field.default_factory()
    return ""  # the required answers are all text: the child's and the referrer's names...


def anonymise(case: Case, now: datetime, years: int) -> Case:
    """A copy of a closed case with its personal data removed and the removal recorded."""
    if case.is_open:
        raise ValueError(f"{case.reference} is open; only a closed case can be anonymised")
    history = [_anonymised_event(e) for e in case.history]
    closed = f"{case.closed_at.day} {case.closed_at:%B %Y}" if case.closed_at else "an unknown date"
    history.append(Event(now, EventKind.CASE_ANONYMISED, SYSTEM_ACTOR,
                         f"Personal data removed: the case closed on {closed} and the retention"
                         f" period is {years} year{'s' if years != 1 else ''}.", case.stage))
    values: dict[str, Any] = {f.name: getattr(case, f.name) if f.name in KEPT_CASE_FIELDS else _empty(f)
              for f in dataclasses.fields(Case) if f.init}
    values.update(referral=anonymised_referral(case.referral), history=history, anonymised_at=now)
    return Case(**values)


def _anonymised_event(event: Event) -> Event:
    actor = SYSTEM_ACTOR if event.actor == SYSTEM_ACTOR else ""
    return Event(event.at, event.kind, actor, "", event.stage, None)

