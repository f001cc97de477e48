"""Dates and times in plain English, as emails and the decision notice show them.

Used by the jinja renderer (as template filters) and the decision notice. Names of days
and months are spelt out here rather than taken from ``strftime`` so the wording never
depends on the machine's locale. Times follow the GOV.UK style: "5pm", "9:30am", "midday".
"""

from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from mailbot.domain.working_days import LONDON

_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December")


def as_local(value: datetime | str, tz: ZoneInfo = LONDON) -> datetime:
    """An aware moment in ``tz`` from a datetime or an ISO 8601 string (naive means local)."""
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    if moment.tzinfo is None:
        return moment.replace(tzinfo=tz)
    return moment.astimezone(tz)


def time_phrase(moment: time) -> str:
    """'5pm', '9:30am', 'midday' or 'midnight'."""
    if moment.minute == 0 and moment.hour in (0, 12):
        return "midnight" if moment.hour == 0 else "midday"
    hour = moment.hour % 12 or 12
    suffix = "am" if moment.hour < 12 else "pm"
    minutes = f":{moment.minute:02d}" if moment.minute else ""
    return f"{hour}{minutes}{suffix}"


def date_phrase(day: date | datetime | str | None, weekday: bool = False,
                tz: ZoneInfo = LONDON) -> str:
    """'29 December 2026' (or 'Tuesday 29 December 2026'); '' when there is no date."""
    if day is None or day == "":
        return ""
    if isinstance(day, str | datetime):
        day = as_local(day, tz).date()
    text = f"{day.day} {_MONTHS[day.month - 1]} {day.year}"
    return f"{_DAYS[day.weekday()]} {text}" if weekday else text


def deadline_phrase(value: datetime | str | None, tz: ZoneInfo = LONDON) -> str:
    """'5pm on Tuesday 29 December 2026', in ``tz``; 'no deadline' when there is none."""
    if value is None or value == "":
        return "no deadline"
    moment = as_local(value, tz)
    return f"{time_phrase(moment.time())} on {date_phrase(moment.date(), weekday=True)}"
