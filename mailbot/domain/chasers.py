"""When to chase a stage: the reminder, the notice on the day, and the overdue notices.

Chase points are computed from the deadline alone, so the schedule is the same however
often the deadline pass runs: a case remembers how many points it has passed, and the
pass sends only the latest point that is due (a worker that was down for a week sends one
overdue notice, not a backlog of them). Every point falls on a working day at the
policy's chasing hour.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from itertools import count

from mailbot.domain.policy import ChaserSettings
from mailbot.domain.working_days import WorkingCalendar


class ChaseKind(StrEnum):
    REMINDER = "reminder"
    DUE_TODAY = "due_today"
    OVERDUE = "overdue"
    FOLLOW_ON = "follow_on"  # the phase ends and the next phase of the same stage begins


@dataclass(frozen=True)
class ChasePoint:
    index: int
    kind: ChaseKind
    at: datetime
    overdue_number: int = 0


def chase_points(
    deadline: datetime,
    entered_at: datetime,
    settings: ChaserSettings,
    calendar: WorkingCalendar,
    follow_on: bool = False,
    start: int = 0,
    reached_by: datetime | None = None,
) -> Iterator[ChasePoint]:
    """Every chase point for one deadline from the ``start``th on (the points a case has
    passed need not be worked out again), in time order (endless when overdue repeats).
    Given ``reached_by``, the overdue points before the last one reached by then are not
    worked out either: only the latest can be due (see ``due_and_next``)."""
    local_deadline = calendar.local(deadline)
    moments: list[tuple[ChaseKind, datetime]] = []
    reminder = _reminder_moment(local_deadline, settings, calendar)
    if reminder and calendar.local(entered_at) < reminder < local_deadline:
        moments.append((ChaseKind.REMINDER, reminder))
    due = calendar.local(datetime.combine(local_deadline.date(), settings.send_at))
    if (settings.on_the_day and calendar.is_working_day(due.date())
            and calendar.local(entered_at) < due < local_deadline):
        moments.append((ChaseKind.DUE_TODAY, due))
    every = settings.overdue_every_working_days
    if reached_by is not None and not follow_on:
        reached = _overdue_reached(local_deadline.date(), reached_by, settings, calendar)
        if reached:  # the last one reached; the moments before the deadline come earlier still
            start = max(start, len(moments) + reached - 1)
    for index, (kind, at) in enumerate(moments[start:], start=min(start, len(moments))):
        yield ChasePoint(index, kind, at)
    if follow_on:
        if start <= len(moments):
            yield ChasePoint(len(moments), ChaseKind.FOLLOW_ON, local_deadline)
        return
    # Overdue notice n falls 1 + (n - 1) * every working days after the deadline's day; those
    # before ``start`` are stepped over, without their moments.
    skipped = max(0, start - len(moments))
    day = local_deadline.date()
    if skipped:
        day = calendar.add_working_days(day, 1 + (skipped - 1) * every)
    for number in count(skipped + 1):
        day = calendar.add_working_days(day, 1 if number == 1 else every)
        at = calendar.local(datetime.combine(day, settings.send_at))
        yield ChasePoint(len(moments) + number - 1, ChaseKind.OVERDUE, at, overdue_number=number)


def _overdue_reached(deadline_day: date, moment: datetime, settings: ChaserSettings,
                     calendar: WorkingCalendar) -> int:
    """How many overdue points fall at or before ``moment``."""
    local = calendar.local(moment)
    days = calendar.working_days_between(deadline_day, local.date())
    if (days and calendar.is_working_day(local.date())
            and calendar.local(datetime.combine(local.date(), settings.send_at)) > local):
        days -= 1  # today's point, if today is one, is still to come
    return (days - 1) // settings.overdue_every_working_days + 1 if days else 0


def _reminder_moment(deadline: datetime, settings: ChaserSettings,
                     calendar: WorkingCalendar) -> datetime | None:
    if settings.reminder_working_days_before < 1:
        return None
    day = deadline.date()
    for _ in range(settings.reminder_working_days_before):
        day = calendar.previous_working_day(day)
    return calendar.local(datetime.combine(day, settings.send_at))


def due_and_next(points: Iterator[ChasePoint], passed: int,
                 now: datetime) -> tuple[ChasePoint | None, ChasePoint | None]:
    """The latest point not yet passed whose time has come (or None), and the first point
    after it not yet passed, where the case is to be looked at next (or None): from one walk
    along the points, which are worked out day by day (issue 19)."""
    due = None
    for point in points:
        if point.at > now:
            break
        if point.index >= passed:
            due = point
    else:
        return due, None
    upcoming = due.index + 1 if due else passed
    return due, next((p for p in itertools.chain((point,), points) if p.index >= upcoming), None)


def next_point(points: Iterator[ChasePoint], passed: int) -> ChasePoint | None:
    """The first point not yet passed: when the deadline pass must next look at the case."""
    return next((point for point in points if point.index >= passed), None)
