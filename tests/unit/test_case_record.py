"""The case record for the child's file (.docx): a case that went through every stage of
Bury's ladder, with every kind of event, comes out whole."""

from __future__ import annotations

import io

import docx
from rendering_cases import (
    BUSINESS_MANAGER,
    CHILD_NAME,
    LINE_MANAGER,
    OPENED,
    REFERRER,
    at,
    bury,
    referral,
)

from mailbot.adapters.case_record_docx import (
    PLACE_ON_FILE,
    build_case_record,
    event_label,
    when,
)
from mailbot.domain.case import Event, EventKind
from mailbot.domain.referral import Person
from mailbot.domain.retention import anonymise

POLICY, ENGINE = bury()
DIRECTOR = Person("Dee Director", "dee.director@csc.example")


def every_stage_case():
    """Levels 1 to 4, the follow-on phase at Level 3, and the final decision."""
    case, _ = ENGINE.open_case(referral(), "BSCP-2026-0020", OPENED, "<form@school.example>")
    for moment in (at(29), at(30), at(31)):
        ENGINE.chase(case, moment)  # reminder, due today, overdue
    ENGINE.file_correspondence(case, "Correspondence from the school", at(31, 10), REFERRER.email,
                               "<letter@school.example>")
    ENGINE.escalate(case, at(31, 11), BUSINESS_MANAGER.email, "no agreement")
    ENGINE.assign(case, "line_manager", LINE_MANAGER, at(31, 12), BUSINESS_MANAGER.email)
    ENGINE.extend(case, 2, at(31, 13), BUSINESS_MANAGER.email, "annual leave")
    ENGINE.record_bounce(case, "Delivery to lena.manager@school.example failed.", at(31, 14))
    ENGINE.escalate(case, at(4, 10, 1, 2027), BUSINESS_MANAGER.email)
    ENGINE.assign(case, "director", DIRECTOR, at(4, 11, 1, 2027), BUSINESS_MANAGER.email)
    for day in range(5, 15):
        ENGINE.chase(case, at(day, 9, 1, 2027))  # Level 3's heads of service, then directors
    ENGINE.add_note(case, "Directors met on 14 January.", at(14, 12, 1, 2027), BUSINESS_MANAGER.email)
    case.record(Event(at(14, 13, 1, 2027), EventKind.COMMAND_REFUSED, REFERRER.email,
                      "STAGE 4\nRefused: Only the business managers can change a case.", 3))
    ENGINE.escalate(case, at(15, 10, 1, 2027), BUSINESS_MANAGER.email)
    ENGINE.record_decision(case, "The school's concerns are upheld.\nAn assessment starts at once.",
                           at(18, 15, 1, 2027), BUSINESS_MANAGER.email)
    return case


def _text(data: bytes) -> tuple[list[str], list[list[list[str]]]]:
    document = docx.Document(io.BytesIO(data))
    tables = [[[cell.text for cell in row.cells] for row in table.rows] for table in document.tables]
    return [p.text for p in document.paragraphs], tables


def test_the_record_of_a_case_through_every_stage_holds_every_event_in_order():
    case = every_stage_case()
    kinds = {e.kind for e in case.history}
    assert {EventKind.FOLLOW_ON_STARTED, EventKind.DEADLINE_MISSED, EventKind.REMINDER_SENT,
            EventKind.DUE_TODAY_SENT, EventKind.DEADLINE_EXTENDED, EventKind.PERSON_ASSIGNED,
            EventKind.NOTE_ADDED, EventKind.CORRESPONDENCE_FILED, EventKind.BOUNCE_RECEIVED,
            EventKind.COMMAND_REFUSED, EventKind.DECISION_RECORDED} <= kinds
    assert {e.stage for e in case.history} == {1, 2, 3, 4}
    _, tables = _text(build_case_record(case, POLICY, ENGINE.calendar, POLICY.name))
    history = tables[-1]
    assert history[0] == ["Time", "Event", "By", "Stage", "Details"]
    assert history[1:] == [[when(e.at), event_label(e.kind), e.actor, str(e.stage), e.text]
                           for e in case.history]


def test_the_record_names_the_child_the_people_each_stage_and_the_decision():
    case = every_stage_case()
    paragraphs, tables = _text(build_case_record(case, POLICY, ENGINE.calendar, POLICY.name))
    assert PLACE_ON_FILE in paragraphs
    facts = dict(tuple(row) for row in tables[0])
    assert facts["Child's name"] == CHILD_NAME and facts["Child's date of birth"] == "4 March 2015"
    assert facts["Partnership"] == POLICY.name and facts["Reference"] == "BSCP-2026-0020"
    assert facts["Status"] == "decided" and facts["Closed"] == "2027-01-18 15:00"
    people = dict(tuple(row) for row in tables[2])
    assert people["Line manager"] == LINE_MANAGER.formatted()
    assert people["Director / Assistant Director"] == DIRECTOR.formatted()
    stages = tables[3]
    assert [row[0] for row in stages[1:]] == [
        "Stage 1: Practitioner to Practitioner", "Stage 2: Line Manager to Line Manager",
        "Stage 3: Head of Service to Head of Service", "Stage 4: Exceptional Circumstances - BSCP"]
    assert stages[1][1:4] == ["2026-12-14 10:00", "2026-12-31 11:00", "2026-12-30 17:00"]
    assert stages[2][5] == "1" and stages[4][2] == "2027-01-18 15:00"
    assert "The school's concerns are upheld." in paragraphs
    assert "An assessment starts at once." in paragraphs


def test_an_anonymised_record_says_so_and_keeps_the_stages_and_events():
    case = anonymise(every_stage_case(), at(1, 2, 2, 2033), 6)
    paragraphs, tables = _text(build_case_record(case, POLICY, ENGINE.calendar, POLICY.name))
    assert any("Personal data was removed from this case on 1 February 2033" in p for p in paragraphs)
    assert CHILD_NAME not in "\n".join(paragraphs + [c for t in tables for r in t for c in r])
    assert len(tables[-1]) == len(case.history) + 1 and len(tables[3]) == 5
