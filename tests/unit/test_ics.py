"""The stage-deadline calendar entry, parsed back as a calendar program would read it."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st
from rendering_cases import Rendered, bury, decided_case

from mailbot.adapters.ics_calendar import DeadlineEvent, escape_text, fold, stage_deadline_ics
from mailbot.adapters.jinja_renderer import JinjaRenderer
from mailbot.domain.notices import Template
from mailbot.domain.working_days import LONDON


def _physical_lines(data: bytes) -> list[bytes]:
    assert data.endswith(b"\r\n")
    lines = data[:-2].split(b"\r\n")
    assert not any(b"\n" in line or b"\r" in line for line in lines)
    return lines


def _properties(data: bytes) -> dict[str, str]:
    """Unfolded content lines as name -> value (the first of each name)."""
    unfolded = data.replace(b"\r\n ", b"").decode("utf-8")
    found: dict[str, str] = {}
    for line in unfolded.split("\r\n")[:-1]:
        name, _, value = line.partition(":")
        found.setdefault(name.split(";")[0], value)
    return found


def _event(**changes) -> DeadlineEvent:
    values = dict(reference="BSCP-2026-0007", stage_number=2,
                  stage_name="Line Manager to Line Manager",
                  deadline=datetime(2026, 7, 1, 17, 0, tzinfo=LONDON),
                  created=datetime(2026, 6, 24, 10, 0, tzinfo=LONDON),
                  partnership_name="Bury Safeguarding Children Partnership",
                  organizer="bsp@bury.gov.uk")
    return DeadlineEvent(**{**values, **changes})


def test_a_summer_deadline_starts_at_four_in_the_afternoon_utc():
    props = _properties(stage_deadline_ics(_event()))
    assert props["DTSTART"] == "20260701T160000Z" and props["DTEND"] == "20260701T163000Z"
    assert props["DTSTAMP"] == "20260624T090000Z"


def test_the_calendar_is_a_published_event_with_a_stable_uid():
    data = stage_deadline_ics(_event())
    props = _properties(data)
    assert props["BEGIN"] == "VCALENDAR" and props["METHOD"] == "PUBLISH"
    assert props["VERSION"] == "2.0" and "PRODID" in props
    assert props["UID"] == "bscp-2026-0007-stage2-20260701t160000z@mailbot"
    assert props["SUMMARY"] == "[BSCP-2026-0007] Stage 2 deadline: Line Manager to Line Manager"
    assert props["ORGANIZER"] == "mailto:bsp@bury.gov.uk"
    assert data == stage_deadline_ics(_event())


def test_every_line_ends_in_crlf_and_none_is_longer_than_75_octets():
    long_name = "Exceptional Circumstances – BSCP, réunion; " * 6
    data = stage_deadline_ics(_event(stage_name=long_name, description="é" * 200))
    lines = _physical_lines(data)
    assert max(len(line) for line in lines) <= 75
    assert any(line.startswith(b" ") for line in lines)
    for line in lines:
        line.decode("utf-8")  # no fold splits a character


def test_text_values_are_escaped_and_unfold_to_the_original():
    description = "Due by 5pm; bring notes, minutes\nand the plan \\ summary"
    props = _properties(stage_deadline_ics(_event(description=description)))
    assert props["DESCRIPTION"] == escape_text(description)
    assert props["DESCRIPTION"] == (
        "Due by 5pm\\; bring notes\\, minutes\\nand the plan \\\\ summary")


@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=400))
def test_folding_any_text_keeps_lines_short_and_unfolds_to_the_same_bytes(text):
    line = "DESCRIPTION:" + escape_text(text)
    folded = fold(line)
    assert all(len(part) <= 75 for part in _physical_lines(folded))
    assert folded[:-2].replace(b"\r\n ", b"") == line.encode("utf-8")


def test_the_stage_notices_calendar_entry_falls_at_the_cases_deadline_in_utc():
    policy, _ = bury()
    case, steps = decided_case()
    item: Rendered = next(s for s in steps if s.notice.template == Template.STAGE_NOTICE)
    email = JinjaRenderer().render(item.notice, case=item.case, policy=policy,
                                   partnership_name=policy.name, recipient=item.notice.to[0],
                                   partnership_address="bsp@bury.gov.uk")
    (_, mime, data), = email.attachments
    props = _properties(data)
    expected = item.case.deadline.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    assert mime == "text/calendar" and props["DTSTART"] == expected == "20261230T170000Z"
    assert "Alfie" not in data.decode("utf-8")
