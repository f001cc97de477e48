"""The decision notice .docx: the seed's Request for Resolution with its final row filled in."""

from __future__ import annotations

from dataclasses import replace
from io import BytesIO

import docx
from rendering_cases import CHILD_NAME, REFERRER, decided_case

from mailbot.adapters.decision_notice import (
    FINAL_DECISION_LABEL,
    Decision,
    build_decision_notice,
)
from mailbot.adapters.plain_dates import date_phrase
from mailbot.adapters.policy_files import load_policy

PARTNERSHIP = "Bury Safeguarding Children Partnership"
BURY = load_policy("bury")


def _decided():
    case, _ = decided_case()
    decision = Decision(text=case.decision, maker="the BSCP Business Manager",
                        decided_at=case.closed_at, decided_by="business.manager@bury.example")
    return case, decision


def _open(data: bytes) -> docx.document.Document:
    return docx.Document(BytesIO(data))


def _rows(document) -> list[list[str]]:
    return [[cell.text for cell in row.cells] for table in document.tables for row in table.rows]


def _final_row(document) -> list[str]:
    rows = [row for row in _rows(document) if any(FINAL_DECISION_LABEL in c for c in row)]
    assert len(rows) == 1
    return rows[0]


def test_the_final_decision_row_holds_the_maker_the_decision_and_the_date():
    case, decision = _decided()
    row = _final_row(_open(build_decision_notice(case, decision, BURY)))
    assert row[0] == "Stage 4 (to be completed by Safeguarding Partnership Business Unit)"
    assert row[1] == "6 January 2027" == date_phrase(case.closed_at)
    assert row[2].startswith(f"{FINAL_DECISION_LABEL} the BSCP Business Manager"
                             " (recorded by business.manager@bury.example)")
    assert "The school's concerns are upheld." in row[2]
    assert "A strategy discussion is held by 8 January." in row[2]


def test_the_notice_carries_the_referral_in_the_seeds_words():
    case, decision = _decided()
    rows = dict(row[:2] for row in _rows(_open(build_decision_notice(case, decision, BURY)))
                if len(set(row)) == 2)
    assert rows["Reference"] == "BSCP-2026-0007"
    assert rows["Name of Child/Young Person"] == CHILD_NAME
    assert rows["D.O.B"] == "4 March 2015"
    assert rows["Name"] == REFERRER.name and rows["Agency/Team"] == "Hilltop Primary School"
    assert REFERRER.email in rows["Contact Details"]
    assert "social care disagree." in rows["Summary of disagreement"]
    assert "Date of Notification" in rows


def test_the_stages_the_case_climbed_appear_before_the_final_row():
    case, decision = _decided()
    stages = [row[0] for row in _rows(_open(build_decision_notice(case, decision, BURY)))]
    assert stages.index("Stage 1") < stages.index("Stage 2") < stages.index("Stage 3")
    assert stages.index("Stage 3") < stages.index(
        "Stage 4 (to be completed by Safeguarding Partnership Business Unit)")


def test_the_heading_names_the_partnership_and_where_the_notice_is_kept():
    case, decision = _decided()
    document = _open(build_decision_notice(case, decision, BURY, "bsp@bury.gov.uk"))
    text = "\n".join(p.text for p in document.paragraphs)
    assert PARTNERSHIP in text and "Request for Resolution Document" in text
    assert "THIS DOCUMENT MUST BE SENT/STORED SECURELY TO bsp@bury.gov.uk" in text
    assert "Once stage 4 has concluded" in text


def test_control_characters_pasted_into_a_decision_do_not_break_the_document():
    case, decision = _decided()
    decision = replace(decision, text="Upheld\x00 \x0bwith\x1f care")
    row = _final_row(_open(build_decision_notice(case, decision, BURY)))
    assert "Upheld with care" in row[2]
