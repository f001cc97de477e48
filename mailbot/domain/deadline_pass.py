"""The deadline pass for one case: reminders, due-today and overdue notices, and the next
phase of a stage when a phase's deadline passes unresolved.

``CaseEngine.chase`` calls this on the worker's schedule; chasers go on working days only and
each is recorded once (``chase_points_passed``), so running the pass twice sends nothing new.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from mailbot.domain import chasers
from mailbot.domain.audience import Audience
from mailbot.domain.case import Case, Event, EventKind
from mailbot.domain.notice_contexts import ChaseFacts
from mailbot.domain.notices import Notice, Partnership, Template, unique_people
from mailbot.domain.policy import Policy, TimeUnit
from mailbot.domain.working_days import WorkingCalendar

SYSTEM = "mailbot"  # the actor of the events mailbot records on its own


class DeadlinePass:
    def __init__(self, policy: Policy, calendar: WorkingCalendar, partnership: Partnership,
                 audience: Audience):
        self.policy, self.calendar, self.partnership = policy, calendar, partnership
        self.audience = audience

    def chase(self, case: Case, now: datetime) -> list[Notice]:
        """The chaser due for this case now, if any; moves ``next_chase_at`` on."""
        if not case.is_open or case.deadline is None:
            case.next_chase_at = None
            return []
        if not self.calendar.is_working_day(self.calendar.local(now).date()):
            return []  # chasers go out on working days only, even when one is late
        point, upcoming = chasers.due_and_next(self.points(case, reached_by=now),
                                               case.chase_points_passed, now)
        if point is not None:
            case.chase_points_passed = point.index + 1
            if point.kind == chasers.ChaseKind.FOLLOW_ON:
                return self._follow_on(case, point.at)
        case.next_chase_at = upcoming.at if upcoming else None
        return [self._chaser(case, point)] if point else []

    def _chaser(self, case: Case, point: chasers.ChasePoint) -> Notice:
        kinds = {chasers.ChaseKind.REMINDER: (Template.REMINDER, EventKind.REMINDER_SENT),
                 chasers.ChaseKind.DUE_TODAY: (Template.DUE_TODAY, EventKind.DUE_TODAY_SENT),
                 chasers.ChaseKind.OVERDUE: (Template.OVERDUE, EventKind.DEADLINE_MISSED)}
        template, event = kinds[point.kind]
        holders = people, unassigned = self.audience.holders(case)
        if point.kind == chasers.ChaseKind.OVERDUE or unassigned:
            people = unique_people((*people, *self.partnership.business_managers))
        assert case.deadline is not None
        label = f"overdue notice {point.overdue_number}" if point.overdue_number else point.kind
        case.record(Event(point.at, event, SYSTEM,
                          f"{label.replace('_', ' ').capitalize()} sent for the"
                          f" {self.policy.step_word} {case.stage}"
                          f" deadline of {case.deadline:%d %B %Y %H:%M}.", case.stage))
        key = f"{point.kind}{point.overdue_number or ''}@{case.deadline:%Y%m%dT%H%M}"
        return Notice(template, people, case.stage, key=key,
                      context=ChaseFacts(**self.audience.stage_fields(case, holders),
                                         overdue_number=point.overdue_number))

    def _follow_on(self, case: Case, at: datetime) -> list[Notice]:
        """The phase's deadline passed unresolved: the stage's next phase begins."""
        case.phase += 1
        self.set_deadline(case, case.stage, case.phase, at)
        phase = self.policy.stage(case.stage).phases[case.phase]
        case.record(Event(at, EventKind.FOLLOW_ON_STARTED, SYSTEM,
                          f"Not resolved by the deadline: {phase.what}", case.stage))
        return self.audience.stage_notices(case, why=phase.what)

    def points(self, case: Case, reached_by: datetime | None = None
               ) -> Iterator[chasers.ChasePoint]:
        stage = self.policy.stage(case.stage)
        assert case.deadline is not None
        started = case.deadline_started_at or case.stage_entered_at
        return chasers.chase_points(case.deadline, started, self.policy.chasers, self.calendar,
                                    follow_on=case.phase + 1 < len(stage.phases),
                                    start=case.chase_points_passed, reached_by=reached_by)

    def reschedule(self, case: Case) -> None:
        point = chasers.next_point(self.points(case), case.chase_points_passed)
        case.next_chase_at = point.at if point else None

    def set_deadline(self, case: Case, stage_no: int, phase_no: int, start: datetime) -> None:
        phase = self.policy.stage(stage_no).phases[phase_no]
        case.phase, case.deadline_started_at, case.chase_points_passed = phase_no, start, 0
        case.deadline = self.deadline_after(start, phase.amount, phase.unit)
        self.reschedule(case)

    def deadline_after(self, start: datetime, amount: int, unit: TimeUnit) -> datetime:
        if unit is TimeUnit.WORKING_DAYS:
            return self.calendar.deadline_in_working_days(start, amount)
        if unit is TimeUnit.WORKING_HOURS:
            return self.calendar.deadline_in_working_hours(start, amount)
        return self.calendar.deadline_in_clock_hours(start, amount)
