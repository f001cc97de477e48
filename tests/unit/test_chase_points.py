"""``chasers.due_and_next``: the point due now and the next one, found in one walk along the
chase points, are exactly what two walks (the due point, then the first one not passed
after it) would find, for any points, any count already passed and any moment."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from mailbot.domain.chasers import ChaseKind, ChasePoint, due_and_next

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


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
