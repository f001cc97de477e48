"""The calendar entry (.ics) for a stage's deadline, kept up to date as the case moves.

Each stay of a case at a stage has one entry: one UID for the case and stage, whatever the
deadline does. Every change (a new deadline, an extension, a follow-on phase) goes out with
a higher SEQUENCE, so a calendar moves the entry it has rather than adding a second one; when
the case leaves the stage, or closes, a METHOD:CANCEL with the same UID removes it (RFC 5546).
Built with the ``icalendar`` package, which escapes and folds lines as RFC 5545 asks. The
entry names the case by reference only, never the child: calendars are shared and
synchronised far more widely than the email they came in.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache

from icalendar import Calendar, Event, vCalAddress, vDatetime, vInt, vText

from mailbot.domain.case import Case, EventKind
from mailbot.domain.case import Event as CaseEvent

_DURATION = timedelta(minutes=30)  # DTEND must be later than DTSTART for a VEVENT
PRODID = "-//mailbot//Resolving professional differences//EN"
# What sets or moves a stage's deadline: entering the stage, an EXTEND or SHORTEN, a phase.
_ENTERS = (EventKind.CASE_OPENED, EventKind.ESCALATED, EventKind.MOVED_TO_STAGE)
_MOVES = (EventKind.DEADLINE_EXTENDED, EventKind.FOLLOW_ON_STARTED)
_CLOSES = (EventKind.OUTCOME_RECORDED, EventKind.DECISION_RECORDED, EventKind.CASE_WITHDRAWN)


@dataclass(frozen=True)
class DeadlineEvent:
    reference: str
    stage_number: int
    stage_name: str
    deadline: datetime  # aware
    created: datetime  # aware; when this version of the entry was made (DTSTAMP)
    partnership_name: str
    description: str = ""
    organizer: str = ""  # the partnership address; RFC 5546 wants one for PUBLISH
    step_word: str = "Stage"  # what the policy calls its steps (Bury: "Level")
    sequence: int = 0
    cancelled: bool = False

    @property
    def uid(self) -> str:
        return f"{self.reference}-stage{self.stage_number}@mailbot".lower()

    @property
    def filename(self) -> str:
        ending = "cancelled" if self.cancelled else "deadline"
        return f"{self.reference}-stage-{self.stage_number}-{ending}.ics"


@lru_cache(maxsize=64)
def stage_deadline_ics(event: DeadlineEvent) -> bytes:
    """The whole VCALENDAR as bytes, ready to attach as text/calendar. Kept for the next
    call with an equal event: every recipient of a stage notice gets the same entry, and
    writing one took as long as rendering an email (issue 18)."""
    head, end = _calendar(event.cancelled)
    return head + _vevent(event).to_ical() + end


@lru_cache(maxsize=2)
def _calendar(cancelled: bool) -> tuple[bytes, bytes]:
    """The VCALENDAR around the entry, as icalendar writes it, split where the entry goes:
    ``to_ical`` writes a component's BEGIN, its own properties, its subcomponents and its END,
    each line on its own, so a calendar holding the VEVENT is this head, the VEVENT's own
    ``to_ical`` and this END. The two calendars (published, cancelled) are the same for every
    entry; writing them each time was a third of writing an entry."""
    calendar = Calendar()
    # Each property is given as the value type ``add`` would choose for it (vText, vInt,
    # vDDDTypes; icalendar's own types), so ``add``'s look-up of the type by the property's
    # name, and its inference from the value, are not run for every property of every entry.
    calendar["PRODID"] = vText(PRODID)
    calendar["VERSION"] = vText("2.0")
    calendar["CALSCALE"] = vText("GREGORIAN")
    calendar["METHOD"] = vText("CANCEL" if cancelled else "PUBLISH")
    whole = calendar.to_ical()
    end = b"END:VCALENDAR\r\n"
    if not whole.endswith(end):
        raise AssertionError("icalendar wrote a calendar that does not end with its END")
    return whole[: -len(end)], end


def _vevent(event: DeadlineEvent) -> Event:
    entry = Event()
    # The times as vDatetime, the type vDDDTypes (``add``'s choice for them) hands a datetime
    # to when it writes one: each made here once rather than again at every write.
    entry["UID"] = vText(event.uid)
    entry["DTSTAMP"] = vDatetime(event.created.astimezone(UTC))
    entry["DTSTART"] = vDatetime(event.deadline.astimezone(UTC))
    entry["DTEND"] = vDatetime((event.deadline + _DURATION).astimezone(UTC))
    entry["SEQUENCE"] = vInt(event.sequence)
    entry["SUMMARY"] = vText(f"[{event.reference}] {event.step_word} {event.stage_number}"
                             f" deadline: {event.stage_name}")
    if event.description:
        entry["DESCRIPTION"] = vText(event.description)
    if event.organizer:
        organizer = vCalAddress(f"mailto:{event.organizer}")
        organizer.params["cn"] = vText(event.partnership_name)
        entry["ORGANIZER"] = organizer
    entry["TRANSP"] = vText("TRANSPARENT")
    entry["STATUS"] = vText("CANCELLED" if event.cancelled else "CONFIRMED")
    return entry


def sequence(history: Sequence[CaseEvent], stage: int) -> int:
    """The SEQUENCE of ``stage``'s entry after this history. Each version of the entry counts:
    entering the stage, each move of its deadline, and leaving it or closing there (the
    cancellation), so whatever is sent next always supersedes what a calendar holds."""
    versions, current = 0, None
    for item in history:
        if item.kind in _ENTERS and item.stage != current:
            versions += (item.stage == stage) + (current == stage)
            current = item.stage
        elif item.stage == stage and item.kind in (*_MOVES, *_CLOSES):
            versions += 1
    return max(versions - 1, 0)


def left_stage(case: Case) -> int | None:
    """The stage whose entry a notice about this moment must cancel: the one the case has
    just left, or the one it closed at."""
    if not case.is_open:
        return case.stage
    entries = [e.stage for e in case.history if e.kind in _ENTERS]
    return entries[-2] if len(entries) > 1 and entries[-2] != entries[-1] else None
