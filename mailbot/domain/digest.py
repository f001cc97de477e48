"""The weekly digest for a partnership's business managers: when it is due, and what it says.

Each week has one slot, on the configured day and hour (Monday 09:00 unless the mailbox says
otherwise); a slot that falls on a bank holiday moves to the next working day. A slot is due
from its moment to the end of the week in which it falls, so a worker that was stopped or
restarted after the hour still sends that week's digest, and the slot's ISO week names the
digest in the outbox, which queues it once. The digest lists the open cases by deadline
(the overdue first, marked), the cases opened and closed since the last digest, and the open
cases at each stage for its chart. Pure: ``now`` is an argument.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from mailbot.domain.case import Case, CaseStatus
from mailbot.domain.engine import CaseEngine
from mailbot.domain.working_days import WorkingCalendar

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
CLOSED_AS = {CaseStatus.RESOLVED: "resolved", CaseStatus.DECIDED: "decided",
             CaseStatus.WITHDRAWN: "withdrawn", CaseStatus.OPEN: "open"}


@dataclass(frozen=True)
class DigestSchedule:
    enabled: bool = True
    weekday: int = 0  # Monday
    hour: int = 9


@dataclass(frozen=True)
class DigestSlot:
    week: str  # ISO week, e.g. "2026-W49"
    at: datetime


def slot_of_week(monday: date, schedule: DigestSchedule, calendar: WorkingCalendar) -> DigestSlot:
    day = calendar.working_day_on_or_after(monday + timedelta(days=schedule.weekday))
    year, week, _ = monday.isocalendar()
    return DigestSlot(f"{year}-W{week:02d}",
                      datetime.combine(day, time(schedule.hour), tzinfo=calendar.tz))


def due_slot(now: datetime, schedule: DigestSchedule, calendar: WorkingCalendar) -> DigestSlot | None:
    """The slot that has come in the current week (last week's, if a bank holiday pushed it
    into this one), or None before it."""
    local = calendar.local(now)
    monday = local.date() - timedelta(days=local.weekday())
    for start in (monday, monday - timedelta(days=7)):
        slot = slot_of_week(start, schedule, calendar)
        if slot.at <= local and slot.at.date() >= monday:
            return slot
    return None


@dataclass(frozen=True)
class CaseDates:
    """When a case opened and closed, and where it stands (or stood when it closed)."""

    reference: str
    status: CaseStatus
    stage: int
    opened_at: datetime
    closed_at: datetime | None


@dataclass(frozen=True)
class OpenCaseLine:
    reference: str
    stage: str  # "Stage 2: Line Manager to Line Manager"
    who_acts: str
    deadline: datetime | None
    working_days: int  # to the deadline, or (when overdue) since it
    overdue: bool

    @property
    def due(self) -> str:
        """'3 working days left', 'due today', 'OVERDUE by 2 working days', ..."""
        if self.deadline is None:
            return "no deadline"
        days = f"{self.working_days} working day{'s' if self.working_days != 1 else ''}"
        if self.overdue:
            return f"OVERDUE by {days}" if self.working_days else "OVERDUE since today"
        return f"{days} left" if self.working_days else "due today"


@dataclass(frozen=True)
class CaseChange:
    reference: str
    what: str  # "now open at Stage 1: ..." / "resolved at Stage 2: ..."
    at: datetime


@dataclass(frozen=True)
class WeeklyDigest:
    week: str
    since: datetime
    open_cases: tuple[OpenCaseLine, ...]
    opened: tuple[CaseChange, ...]
    closed: tuple[CaseChange, ...]
    by_stage: tuple[tuple[str, int], ...]  # every stage of the policy, with its open cases

    @property
    def overdue(self) -> int:
        return sum(line.overdue for line in self.open_cases)


def build_digest(slot: DigestSlot, since: datetime, open_cases: Sequence[Case],
                 changes: Sequence[CaseDates], engine: CaseEngine,
                 now: datetime) -> WeeklyDigest | None:
    """The digest, or None when nothing is open (no digest is sent that week). ``changes``
    are the cases opened or closed since the last digest."""
    if not open_cases:
        return None
    lines = sorted((_line(case, engine, now) for case in open_cases),
                   key=lambda line: (line.deadline is None, line.deadline, line.reference))
    label = _labeller(engine)
    opened = tuple(CaseChange(c.reference, f"now {CLOSED_AS[c.status]} at {label(c.stage)}",
                              c.opened_at)
                   for c in changes if since <= c.opened_at < now)
    closed = tuple(CaseChange(c.reference, f"{CLOSED_AS[c.status]} at {label(c.stage)}",
                              c.closed_at)
                   for c in changes if c.closed_at is not None and since <= c.closed_at < now)
    counts = Counter(case.stage for case in open_cases)
    stages = [s.number for s in engine.policy.stages] + sorted(set(counts) - {
        s.number for s in engine.policy.stages})
    by_stage = tuple((label(number), counts[number]) for number in stages)
    return WeeklyDigest(slot.week, since, tuple(lines), opened,
                        tuple(sorted(closed, key=lambda c: c.at)), by_stage)


def _line(case: Case, engine: CaseEngine, now: datetime) -> OpenCaseLine:
    policy, calendar = engine.policy, engine.calendar
    roles = policy.roles_at(case.stage, case.facts, case.phase) if policy.has_stage(case.stage) else ()
    who = []
    for role in roles:
        people = ", ".join(p.name or p.email for p in engine.people_for_role(case, role))
        who.append(f"{policy.role_name(role)} ({people or 'nobody named yet'})")
    deadline = case.deadline
    overdue = deadline is not None and deadline < now
    days = 0
    if deadline is not None:
        first, last = sorted((calendar.local(now).date(), calendar.local(deadline).date()))
        days = calendar.working_days_between(first, last)
    return OpenCaseLine(case.reference, _labeller(engine)(case.stage), "; ".join(who), deadline,
                        days, overdue)


def _labeller(engine: CaseEngine) -> Callable[[int], str]:
    return engine.policy.label  # "Stage 2: ..." or, in Bury's words, "Level 2: ..."
