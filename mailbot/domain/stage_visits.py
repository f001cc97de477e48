"""The stages a case went through, read back from its history: when it entered each stage,
when it left, and when the policy's timescale for that stage ran out.

The thematic report measures time in each stage against the policy from these, and the case
record lists them for the child's file. Only each event's time, kind and stage are read,
which anonymisation keeps, so an anonymised case gives the same visits as before. Pure: the
calendar is an argument and nothing reads a clock.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from mailbot.domain.case import EventKind
from mailbot.domain.policy import Phase, Policy, TimeUnit
from mailbot.domain.working_days import WorkingCalendar

# The events that put a case at a stage, and those that close it where it stands.
ENTERED = frozenset({EventKind.CASE_OPENED, EventKind.ESCALATED, EventKind.MOVED_TO_STAGE})
CLOSED = frozenset({EventKind.OUTCOME_RECORDED, EventKind.DECISION_RECORDED,
                    EventKind.CASE_WITHDRAWN})

EventOutline = tuple[datetime, EventKind, int]  # when, what, at which stage


@dataclass(frozen=True)
class StageVisit:
    stage: int
    entered: datetime
    left: datetime | None  # None: the case is still at this stage
    due: datetime | None  # when the policy's timescale ran out (every phase); None: unknown stage
    extensions: int = 0  # EXTEND commands during the visit

    @property
    def ran_over(self) -> bool:
        """Left after the policy's timescale ran out (a visit still under way is not counted)."""
        return self.due is not None and self.left is not None and self.left > self.due


def deadline_after(calendar: WorkingCalendar, start: datetime, amount: int,
                   unit: TimeUnit) -> datetime:
    """When ``amount`` of ``unit`` after ``start`` ends (the engine sets deadlines with this)."""
    if unit is TimeUnit.WORKING_DAYS:
        return calendar.deadline_in_working_days(start, amount)
    if unit is TimeUnit.WORKING_HOURS:
        return calendar.deadline_in_working_hours(start, amount)
    return calendar.deadline_in_clock_hours(start, amount)


def timescale_end(policy: Policy, calendar: WorkingCalendar, stage: int,
                  entered: datetime) -> datetime | None:
    """The end of the stage's last phase, each phase starting when the one before ran out,
    as the deadline pass moves a stage on; None for a stage the policy no longer has."""
    if not policy.has_stage(stage):
        return None
    return _chain(calendar, entered, policy.stage(stage).phases)


def _chain(calendar: WorkingCalendar, start: datetime, phases: Iterable[Phase]) -> datetime:
    moment = start
    for phase in phases:
        moment = deadline_after(calendar, moment, phase.amount, phase.unit)
    return moment


def stage_visits(events: Iterable[EventOutline], policy: Policy,
                 calendar: WorkingCalendar) -> list[StageVisit]:
    """Each stage the case was at, in order; a case moved twice to one stage visits it twice."""
    visits: list[StageVisit] = []
    current: tuple[int, datetime, int] | None = None  # stage, entered, extensions
    for at, kind, stage in events:
        if kind in ENTERED:
            if current is not None:
                visits.append(_visit(current, at, policy, calendar))
            current = (stage, at, 0)
        elif kind is EventKind.DEADLINE_EXTENDED and current is not None:
            current = (current[0], current[1], current[2] + 1)
        elif kind in CLOSED and current is not None:
            visits.append(_visit(current, at, policy, calendar))
            current = None
    if current is not None:
        visits.append(_visit(current, None, policy, calendar))
    return visits


def _visit(current: tuple[int, datetime, int], left: datetime | None, policy: Policy,
           calendar: WorkingCalendar) -> StageVisit:
    stage, entered, extensions = current
    return StageVisit(stage, entered, left, timescale_end(policy, calendar, stage, entered),
                      extensions)


def timescale_words(policy: Policy, stage: int) -> str:
    """The stage's timescale as the policy gives it, e.g. "10 working days" or
    "1 working day, then 24 clock hours"."""
    if not policy.has_stage(stage):
        return "not in the policy"
    return ", then ".join(_amount(p.amount, p.unit) for p in policy.stage(stage).phases)


def _amount(amount: int, unit: TimeUnit) -> str:
    words = unit.value.replace("_", " ")
    return f"{amount} {words[:-1] if amount == 1 else words}"
