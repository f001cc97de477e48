"""The calendar invitation (.ics) attached to a stage notice: one event at the deadline.

Written by hand to RFC 5545 (and RFC 5546's PUBLISH method): CRLF line endings, TEXT
values escaped, and every content line folded at 75 octets without splitting a UTF-8
character. The event names the case by reference only, never the child, because calendar
entries are shared and synchronised far more widely than the email they came in.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

_LIMIT = 75  # octets per line, excluding the CRLF (RFC 5545 section 3.1)
_DURATION = timedelta(minutes=30)  # DTEND must be later than DTSTART for a VEVENT


@dataclass(frozen=True)
class DeadlineEvent:
    reference: str
    stage_number: int
    stage_name: str
    deadline: datetime  # aware
    created: datetime  # aware; when the deadline was set (DTSTAMP)
    partnership_name: str
    description: str = ""
    organizer: str = ""  # the partnership address; RFC 5546 wants one for PUBLISH
    step_word: str = "Stage"  # what the policy calls its steps (Bury: "Level")

    @property
    def uid(self) -> str:
        return f"{self.reference}-stage{self.stage_number}-{_utc(self.deadline)}@mailbot".lower()

    @property
    def filename(self) -> str:
        return f"{self.reference}-stage-{self.stage_number}-deadline.ics"


def stage_deadline_ics(event: DeadlineEvent) -> bytes:
    """The whole VCALENDAR as bytes, ready to attach as text/calendar."""
    summary = (f"[{event.reference}] {event.step_word} {event.stage_number} deadline:"
               f" {event.stage_name}")
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//mailbot//Resolving professional differences//EN",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        "BEGIN:VEVENT",
        f"UID:{event.uid}",
        f"DTSTAMP:{_utc(event.created)}",
        f"DTSTART:{_utc(event.deadline)}",
        f"DTEND:{_utc(event.deadline + _DURATION)}",
        "SEQUENCE:0",
        f"SUMMARY:{escape_text(summary)}",
        f"DESCRIPTION:{escape_text(event.description)}" if event.description else "",
        _organizer(event),
        "TRANSP:TRANSPARENT",
        "STATUS:CONFIRMED",
        "END:VEVENT",
        "END:VCALENDAR",
    ]
    return b"".join(fold(line) for line in lines if line)


def _organizer(event: DeadlineEvent) -> str:
    if not event.organizer:
        return ""
    name = event.partnership_name.replace('"', "'")
    return f'ORGANIZER;CN="{name}":mailto:{event.organizer}'


def _utc(moment: datetime) -> str:
    if moment.tzinfo is None:
        raise ValueError("calendar times must be aware")
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def escape_text(value: str) -> str:
    """A TEXT property value (RFC 5545 section 3.3.11): backslash, semicolon, comma, newline."""
    value = value.replace("\r\n", "\n").replace("\r", "\n")
    value = value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
    return value.replace("\n", "\\n")


def fold(line: str) -> bytes:
    """One content line, folded into chunks of at most 75 octets, each ending in CRLF.

    A continuation line starts with a space, which counts towards its 75 octets. A fold
    never falls inside a multi-byte UTF-8 character, so each chunk decodes on its own.
    """
    data = line.encode("utf-8")
    chunks, start, limit = [], 0, _LIMIT
    while len(data) - start > limit:
        end = start + limit
        while data[end] & 0xC0 == 0x80:  # a continuation byte: back off to the character start
            end -= 1
        chunks.append(data[start:end])
        start, limit = end, _LIMIT - 1
    chunks.append(data[start:])
    return b"\r\n ".join(chunks) + b"\r\n"
