"""Working-day arithmetic for deadlines: weekends and bank holidays off, in local time.

The calendar is pure: the bank holidays arrive as a container of dates (the adapters build
it from the ``holidays`` package), and every function takes the moment it reasons about.
A deadline of n working days from an event ends at the close of business of the nth
working day after the day of the event, so a Friday-afternoon referral with one working
day falls due at close of business on Monday (Tuesday if Monday is a bank holiday).
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Container
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

LONDON = ZoneInfo("Europe/London")


@dataclass(frozen=True)
class WorkingCalendar:
    """Which days are working days, and when a working day closes, in one time zone."""

    bank_holidays: Container[date]
    tz: ZoneInfo = LONDON
    close_of_business: time = time(17, 0)
    opening_time: time = time(9, 0)
    # Each day's answer, once worked out: asking the ``holidays`` package was most of the
    # deadline pass's domain time, every case asking about the same few weeks (issue 19).
    _working: dict[date, bool] = field(default_factory=dict, init=False, repr=False,
                                       compare=False)
    # Each year's working days counted, once the year is first asked about: the nth entry is
    # how many working days its first n + 1 days hold. Counting and adding working days are
    # then a subtraction and a bisection rather than a step a day (a case a month overdue
    # had its chasers worked out a day at a time on every pass: issue 19).
    _counts: dict[int, list[int]] = field(default_factory=dict, init=False, repr=False,
                                          compare=False)

    def is_working_day(self, day: date) -> bool:
        working = self._working.get(day)
        if working is None:
            working = self._working[day] = day.weekday() < 5 and day not in self.bank_holidays
        return working

    def local(self, moment: datetime) -> datetime:
        """The moment in this calendar's zone; naive moments are taken as already local."""
        if moment.tzinfo is None:
            return moment.replace(tzinfo=self.tz)
        return moment.astimezone(self.tz)

    def next_working_day(self, day: date) -> date:
        """The first working day strictly after ``day``."""
        return self.add_working_days(day, 1)

    def previous_working_day(self, day: date) -> date:
        """The last working day strictly before ``day``."""
        year, counts = day.year, self._counts_of(day.year)
        index = _day_of_year(day)
        before = counts[index - 1] if index else 0
        while before == 0:  # none earlier in its year: the last one of the year before
            year -= 1
            counts = self._counts_of(year)
            before = counts[-1]
        return self._nth_of_year(year, counts, before)

    def working_day_on_or_after(self, day: date) -> date:
        return day if self.is_working_day(day) else self.next_working_day(day)

    def add_working_days(self, day: date, n: int) -> date:
        """The nth working day after ``day`` (n = 0: ``day`` itself if working, else the next)."""
        if n < 0:
            raise ValueError("a number of working days cannot be negative")
        if n == 0:
            return self.working_day_on_or_after(day)
        year, counts = day.year, self._counts_of(day.year)
        wanted = counts[_day_of_year(day)] + n
        while wanted > counts[-1]:  # past the end of this year: count on into the next
            wanted -= counts[-1]
            year += 1
            counts = self._counts_of(year)
        return self._nth_of_year(year, counts, wanted)

    def _counts_of(self, year: int) -> list[int]:
        counts = self._counts.get(year)
        if counts is None:
            day, total, counts = date(year, 1, 1), 0, []
            while day.year == year:
                total += self.is_working_day(day)
                counts.append(total)
                day += timedelta(days=1)
            self._counts[year] = counts
        return counts

    @staticmethod
    def _nth_of_year(year: int, counts: list[int], n: int) -> date:
        """The nth working day of ``year`` (n >= 1): the first day whose count reaches n."""
        return date(year, 1, 1) + timedelta(days=bisect_left(counts, n))

    def close_of(self, day: date) -> datetime:
        """Close of business on ``day``, as an aware moment (right across clock changes)."""
        return datetime.combine(day, self.close_of_business, tzinfo=self.tz)

    def deadline_in_working_days(self, event: datetime, n: int) -> datetime:
        """Close of business on the nth working day after the day of ``event``."""
        return self.close_of(self.add_working_days(self.local(event).date(), n))

    def deadline_in_working_hours(self, event: datetime, hours: int) -> datetime:
        """``hours`` of working time after ``event``, counting only opening to close."""
        moment = self._clamp_to_working_time(self.local(event))
        remaining = timedelta(hours=hours)
        while True:
            left_today = self.close_of(moment.date()) - moment
            if remaining <= left_today:
                return moment + remaining
            remaining -= left_today
            moment = self._opening_of(self.next_working_day(moment.date()))

    def deadline_in_clock_hours(self, event: datetime, hours: int) -> datetime:
        """Clock hours are elapsed hours: computed in UTC so a clock change neither adds nor
        loses an hour, then shown in local time."""
        aware = self.local(event)
        return (aware.astimezone(ZoneInfo("UTC")) + timedelta(hours=hours)).astimezone(self.tz)

    def working_days_between(self, start: date, end: date) -> int:
        """Working days in (start, end]: how many working days after ``start`` ``end`` is."""
        if end <= start:
            return 0
        count = self._counts_of(end.year)[_day_of_year(end)]
        for year in range(start.year, end.year):
            count += self._counts_of(year)[-1]
        return count - self._counts_of(start.year)[_day_of_year(start)]

    def _opening_of(self, day: date) -> datetime:
        return datetime.combine(day, self.opening_time, tzinfo=self.tz)

    def _clamp_to_working_time(self, moment: datetime) -> datetime:
        """Move a moment outside working time to the next opening."""
        day = moment.date()
        if self.is_working_day(day):
            if moment.time() < self.opening_time:
                return self._opening_of(day)
            if moment.time() < self.close_of_business:
                return moment
        return self._opening_of(self.next_working_day(day))


def _day_of_year(day: date) -> int:
    """0 for 1 January."""
    return day.toordinal() - date(day.year, 1, 1).toordinal()
