"""``chasers.due_and_next``: the point due now and the next one, found in one walk along the
chase points, are exactly what two walks (the due point, then the first one not passed
after it) would find, for any points, any count already passed and any moment; and the
points from the nth on are those of all the points, without working out the earlier ones."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from itertools import islice

from hypothesis import given, settings
from hypothesis import strategies as st

from mailbot.adapters.policy_files import calendar_for, load_policy
from mailbot.domain.chasers import ChaseKind, ChasePoint, chase_points, due_and_next
from mailbot.domain.working_days import LONDON

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
BURY = load_policy("bury")
CALENDAR = calendar_for(BURY)


def _due(points: list[ChasePoint], passed: int, now: datetime) -> ChasePoint | None:
    """The latest point not yet passed whose time has come."""
    due = [p for p in points if p.at <= now and p.index >= passed]
    return due[-1] if due else None


def _next(points: list[ChasePoint], passed: int) -> ChasePoint | None:
    return next((p for p in points if p.index >= passed), None)


@given(gaps=st.lists(st.integers(min_value=0, max_value=72), max_size=12),
       passed=st.integers(min_value=0, max_value=14),
       now_hours=st.integers(min_value=-5, max_value=800))
def test_the_due_and_the_next_point_are_found_in_one_walk(gaps, passed, now_hours):
    moments = [START + timedelta(hours=sum(gaps[:n + 1])) for n in range(len(gaps))]
    points = [ChasePoint(n, ChaseKind.OVERDUE, at, n + 1) for n, at in enumerate(moments)]
    now = START + timedelta(hours=now_hours)

    due, upcoming = due_and_next(iter(points), passed, now)

    assert due == _due(points, passed, now)
    assert upcoming == _next(points, due.index + 1 if due else passed)


def test_an_endless_run_of_points_is_walked_only_as_far_as_the_next_one():
    def endless():
        n = 0
        while True:
            yield ChasePoint(n, ChaseKind.OVERDUE, START + timedelta(days=n), n + 1)
            n += 1

    due, upcoming = due_and_next(endless(), 2, START + timedelta(days=5, hours=1))
    assert (due.index, upcoming.index) == (5, 6)


@settings(max_examples=80, deadline=None)
@given(deadline=st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2030, 12, 31),
                             timezones=st.just(LONDON)),
       entered_days=st.integers(min_value=0, max_value=30),
       follow_on=st.booleans(), every=st.integers(min_value=1, max_value=5),
       start=st.integers(min_value=0, max_value=25))
def test_the_points_from_the_nth_on_are_those_of_all_the_points(deadline, entered_days,
                                                                 follow_on, every, start):
    chasers = replace(BURY.chasers, overdue_every_working_days=every)
    entered = deadline - timedelta(days=entered_days)
    every_point = list(islice(chase_points(deadline, entered, chasers, CALENDAR, follow_on), 40))
    from_start = list(islice(chase_points(deadline, entered, chasers, CALENDAR, follow_on,
                                          start=start), 40 - start))
    assert from_start == [p for p in every_point if p.index >= start]


@settings(max_examples=200, deadline=None)
@given(deadline=st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2030, 12, 31),
                             timezones=st.just(LONDON)),
       entered_days=st.integers(min_value=0, max_value=30),
       follow_on=st.booleans(), every=st.integers(min_value=1, max_value=5),
       passed=st.integers(min_value=0, max_value=25),
       now_hours=st.integers(min_value=-24 * 40, max_value=24 * 400))
def test_points_worked_out_only_from_the_last_one_reached_give_the_same_chase(
        deadline, entered_days, follow_on, every, passed, now_hours):
    """A case long overdue has its due point found without working out every overdue point
    before it, and the same point is due, and the same one next, as from all the points."""
    chasers = replace(BURY.chasers, overdue_every_working_days=every)
    entered = deadline - timedelta(days=entered_days)
    now = deadline + timedelta(hours=now_hours)
    every_point = chase_points(deadline, entered, chasers, CALENDAR, follow_on, start=passed)
    from_reached = chase_points(deadline, entered, chasers, CALENDAR, follow_on, start=passed,
                                reached_by=now)
    assert due_and_next(from_reached, passed, now) == due_and_next(every_point, passed, now)


def test_a_month_overdue_case_works_out_only_its_last_two_overdue_points():
    deadline = datetime(2026, 3, 2, 17, 0, tzinfo=LONDON)
    now = datetime(2026, 4, 30, 12, 0, tzinfo=UTC)
    points = list(islice(chase_points(deadline, deadline - timedelta(days=10), BURY.chasers,
                                      CALENDAR, reached_by=now), 2))
    assert points[0].at <= now < points[1].at
    assert points[0].overdue_number > 10
