"""Deadlines and dates in plain English, in London time whatever zone they arrive in."""

from __future__ import annotations

from datetime import date, datetime, time

from mailbot.adapters.plain_dates import date_phrase, deadline_phrase, time_phrase
from mailbot.domain.working_days import LONDON


def test_a_close_of_business_deadline_reads_as_the_issue_asks():
    moment = datetime(2026, 12, 29, 17, 0, tzinfo=LONDON)
    assert deadline_phrase(moment) == "5pm on Tuesday 29 December 2026"
    assert deadline_phrase(moment.isoformat()) == "5pm on Tuesday 29 December 2026"


def test_a_utc_moment_in_summer_is_shown_in_british_summer_time():
    assert deadline_phrase("2026-07-01T16:00:00+00:00") == "5pm on Wednesday 1 July 2026"


def test_times_follow_govuk_style():
    assert [time_phrase(t) for t in (time(9, 30), time(12), time(0), time(13, 5), time(11))] == [
        "9:30am", "midday", "midnight", "1:05pm", "11am"]


def test_missing_values_read_plainly():
    assert deadline_phrase(None) == "no deadline" and date_phrase(None) == ""


def test_dates_can_carry_the_weekday():
    assert date_phrase(date(2015, 3, 4)) == "4 March 2015"
    assert date_phrase(date(2027, 1, 6), weekday=True) == "Wednesday 6 January 2027"
