"""Working-day arithmetic for deadlines: weekends and bank holidays off, in local time.

The calendar is pure: the bank holidays arrive as a container of dates (the adapters build
it from the ``holidays`` package), and every function takes the moment it reasons about.
A deadline of n working days from an event ends at the close of business of the nth
working day after the day of the event, so a Friday-afternoon referral with one working
day falls due at close of business on Monday (Tuesday if Monday is a bank holiday).
"""

from __future__ import annotations

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
        day += timedelta(days=1)
        while not self.is_working_day(day):
            day += timedelta(days=1)
        return day

    def previous_working_day(self, day: date) -> date:
        """The last working day strictly before ``day``."""
        day -= timedelta(days=1)
        while not self.is_working_day(day):
            day -= timedelta(days=1)
        return day

    def working_day_on_or_after(self, day: date) -> date:
        return day if self.is_working_day(day) else self.next_working_day(day)

    def add_working_days(self, day: date, n: int) -> date:
        """The nth working day after ``day`` (n = 0: ``day`` itself if working, else the next)."""
        if n < 0:
            raise ValueError("a number of working days cannot be negative")
        if n == 0:
            return self.working_day_on_or_after(day)
        for _ in range(n):
            day = self.next_working_day(day)
        return day

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
        count, day = 0, start
        while day < end:
            day += timedelta(days=1)
            if self.is_working_day(day):
                count += 1
        return count

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
