"""Working-day arithmetic with the real England and Wales bank holidays and London time."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from policy_helpers import london

from mailbot.adapters.policy_files import calendar_for, load_policy


@pytest.fixture(scope="module")
def calendar():
    return calendar_for(load_policy("bury"))


@pytest.mark.parametrize("day", [date(2026, 12, 25), date(2026, 12, 28),
                                 date(2027, 12, 27), date(2027, 12, 28),
                                 date(2027, 3, 26), date(2027, 3, 29)])
def test_christmas_boxing_day_substitutes_and_easter_are_not_working_days(calendar, day):
    assert not calendar.is_working_day(day)


def test_christmas_eve_2026_plus_one_working_day_is_tuesday_the_29th(calendar):
    # Friday 25th is Christmas; Boxing Day falls on Saturday, so Monday 28th is off instead.
    assert calendar.add_working_days(date(2026, 12, 24), 1) == date(2026, 12, 29)


def test_christmas_eve_2027_plus_one_working_day_is_wednesday_the_29th(calendar):
    # Both Christmas Day and Boxing Day fall on the weekend: Monday 27th and Tuesday 28th are off.
    assert calendar.add_working_days(date(2027, 12, 24), 1) == date(2027, 12, 29)


def test_a_week_from_christmas_eve_2027_ends_after_the_new_year_substitute(calendar):
    # 29, 30, 31 December, then 1 January 2028 is a Saturday so Monday 3rd is off: 4th, 5th.
    deadline = calendar.deadline_in_working_days(london(2027, 12, 24, 11), 5)
    assert deadline == london(2028, 1, 5, 17)


def test_easter_2027_skips_good_friday_and_easter_monday(calendar):
    assert calendar.add_working_days(date(2027, 3, 25), 1) == date(2027, 3, 30)
    assert calendar.working_days_between(date(2027, 3, 25), date(2027, 3, 30)) == 1


def test_a_deadline_across_the_spring_clock_change_closes_at_17_00_bst(calendar):
    deadline = calendar.deadline_in_working_days(london(2026, 3, 27, 10), 1)
    assert deadline == london(2026, 3, 30, 17)
    assert deadline.utcoffset() == timedelta(hours=1)
    assert deadline.astimezone(UTC).hour == 16


def test_a_deadline_across_the_autumn_clock_change_closes_at_17_00_gmt(calendar):
    deadline = calendar.deadline_in_working_days(london(2026, 10, 23, 10), 1)
    assert deadline == london(2026, 10, 26, 17)
    assert deadline.utcoffset() == timedelta(0)
    assert deadline.astimezone(UTC).hour == 17


def test_easter_sunday_2027_is_also_the_spring_clock_change(calendar):
    deadline = calendar.deadline_in_working_days(london(2027, 3, 25, 16), 1)
    assert deadline == london(2027, 3, 30, 17)
    assert deadline.utcoffset() == timedelta(hours=1)


def test_a_deadline_ends_at_close_of_business_on_the_nth_working_day(calendar):
    assert calendar.deadline_in_working_days(london(2026, 3, 2, 9), 3) == london(2026, 3, 5, 17)


def test_an_event_after_close_of_business_still_counts_from_its_own_day(calendar):
    assert calendar.deadline_in_working_days(london(2026, 3, 2, 19), 1) == london(2026, 3, 3, 17)


def test_an_event_at_the_weekend_counts_from_the_weekend(calendar):
    assert calendar.deadline_in_working_days(london(2026, 3, 7, 12), 1) == london(2026, 3, 9, 17)


def test_an_event_given_in_utc_is_read_in_london_time(calendar):
    # 23:30 UTC on Monday 1 June 2026 is 00:30 on Tuesday in London (BST).
    event = datetime(2026, 6, 1, 23, 30, tzinfo=UTC)
    assert calendar.deadline_in_working_days(event, 1) == london(2026, 6, 3, 17)


def test_a_naive_moment_is_taken_as_london_time(calendar):
    naive = datetime(2026, 3, 2, 10)
    assert calendar.deadline_in_working_days(naive, 1) == london(2026, 3, 3, 17)


def test_close_of_business_is_configurable(calendar):
    late = replace(calendar, close_of_business=time(18, 30))
    assert late.deadline_in_working_days(london(2026, 3, 2), 1) == london(2026, 3, 3, 18, 30)


def test_a_policy_may_choose_another_uk_nation():
    scotland = calendar_for(replace(load_policy("bury"), nation="SCT"))
    england = calendar_for(load_policy("bury"))
    assert not scotland.is_working_day(date(2027, 1, 4))
    assert england.is_working_day(date(2027, 1, 4))
    assert not scotland.is_working_day(date(2027, 11, 30))     # St Andrew's Day


def test_zero_working_days_is_the_same_day_or_the_next_working_day(calendar):
    assert calendar.add_working_days(date(2026, 3, 2), 0) == date(2026, 3, 2)
    assert calendar.add_working_days(date(2026, 12, 25), 0) == date(2026, 12, 29)


def test_a_negative_number_of_working_days_is_refused(calendar):
    with pytest.raises(ValueError, match="negative"):
        calendar.add_working_days(date(2026, 3, 2), -1)


def test_previous_working_day_skips_back_over_easter(calendar):
    assert calendar.previous_working_day(date(2027, 3, 30)) == date(2027, 3, 25)


def test_twenty_four_clock_hours_over_the_spring_change_end_an_hour_later_by_the_clock(calendar):
    assert calendar.deadline_in_clock_hours(london(2026, 3, 28, 12), 24) == london(2026, 3, 29, 13)


def test_twenty_four_clock_hours_over_the_autumn_change_end_an_hour_earlier_by_the_clock(calendar):
    end = calendar.deadline_in_clock_hours(london(2026, 10, 24, 12), 24)
    assert end == london(2026, 10, 25, 11)
    # Python subtracts same-zone moments by the wall clock, so compare in UTC.
    assert end.astimezone(UTC) - london(2026, 10, 24, 12).astimezone(UTC) == timedelta(hours=24)


def test_clock_hours_ignore_weekends_and_bank_holidays(calendar):
    end = calendar.deadline_in_clock_hours(london(2026, 12, 24, 17), 48)
    assert end == london(2026, 12, 26, 17)


def test_working_hours_carry_over_to_the_next_working_day(calendar):
    assert calendar.deadline_in_working_hours(london(2026, 3, 2, 15), 4) == london(2026, 3, 3, 11)


def test_working_hours_skip_the_weekend_and_christmas(calendar):
    end = calendar.deadline_in_working_hours(london(2026, 12, 24, 16), 2)
    assert end == london(2026, 12, 29, 10)


def test_working_hours_from_before_opening_start_at_opening(calendar):
    assert calendar.deadline_in_working_hours(london(2026, 3, 2, 7), 3) == london(2026, 3, 2, 12)


def test_working_hours_from_after_close_start_the_next_morning(calendar):
    assert calendar.deadline_in_working_hours(london(2026, 3, 6, 18), 8) == london(2026, 3, 9, 17)


def test_working_hours_across_the_spring_change_keep_office_hours(calendar):
    end = calendar.deadline_in_working_hours(london(2026, 3, 27, 16), 2)
    assert end == london(2026, 3, 30, 10)
    assert end.utcoffset() == timedelta(hours=1)


def test_each_day_is_looked_up_among_the_bank_holidays_once(calendar):
    class Counting(set):
        asked: list[date] = []

        def __contains__(self, day):
            self.asked.append(day)
            return super().__contains__(day)

    counting = replace(calendar, bank_holidays=Counting({date(2026, 12, 25)}))
    for _ in range(3):
        assert counting.add_working_days(date(2026, 12, 18), 6) == date(2026, 12, 29)
    assert sorted(Counting.asked) == sorted(set(Counting.asked))
    # A calendar made from it with other holidays remembers nothing of its answers.
    assert replace(counting, bank_holidays=frozenset()).is_working_day(date(2026, 12, 25))


def _stepping(calendar, day: date, n: int) -> date:
    """The nth working day after ``day``, found a day at a time (n >= 1)."""
    while n:
        day += timedelta(days=1)
        n -= calendar.is_working_day(day)
    return day


@settings(max_examples=300, deadline=None)
@given(day=st.dates(min_value=date(2024, 1, 1), max_value=date(2031, 12, 31)),
       n=st.integers(min_value=0, max_value=800))
def test_counted_working_days_agree_with_stepping_a_day_at_a_time(calendar, day, n):
    """Adding, counting back and counting between go by each year's counts (across years,
    weekends and bank holidays), and give what stepping a day at a time gives."""
    later = calendar.add_working_days(day, n)
    if n:
        assert later == _stepping(calendar, day, n)
        assert calendar.working_days_between(day, later) == n
        assert calendar.next_working_day(day) == _stepping(calendar, day, 1)
    else:
        assert later == (day if calendar.is_working_day(day) else _stepping(calendar, day, 1))
    earlier = day - timedelta(days=1)
    while not calendar.is_working_day(earlier):
        earlier -= timedelta(days=1)
    assert calendar.previous_working_day(day) == earlier
    assert calendar.working_days_between(later, day) == 0  # none after a later day
