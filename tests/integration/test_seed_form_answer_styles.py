"""Finding 7 of issue 13: the seed's own form, read in full however a person fills it.

Bury's Appendix 1 in the seed's layout, its "Designated safeguarding lead aware of this
notice?" box answered in each way people answer it, written by LibreOffice: the reader finds
the answer and the name typed after "Name of safeguarding lead:", reads the stage 3 and
stage 4 rows of its outcome table, and warns only about boxes Bury's form has.
"""

from __future__ import annotations

import pytest

from mailbot.adapters.policy_files import load_policy
from mailbot.intake.docx_form import read_form_attachment
from mailbot.intake.form_validation import validate
from tests.seed_forms import (
    ANSWERS,
    DSL_NAME,
    STAGE_3_DATE,
    STAGE_3_EVIDENCE,
    STYLES,
    appendix_html,
    convert,
    written_by_libreoffice,
)

BURY = load_policy("bury")


@pytest.fixture(scope="module")
def forms(tmp_path_factory) -> dict[str, bytes]:
    return written_by_libreoffice(tmp_path_factory.mktemp("appendix1"))


@pytest.mark.parametrize("style", STYLES, ids=lambda s: s.name)
def test_the_dsl_answer_and_name_are_read_whichever_way_the_box_was_filled(forms, style):
    reading = read_form_attachment(forms[style.name])
    assert reading.value("safeguarding_lead_aware") is style.aware
    assert reading.value("safeguarding_lead_name") == DSL_NAME
    assert not reading.errors


@pytest.mark.parametrize("style", [s for s in STYLES if s.html], ids=lambda s: s.name)
def test_the_whole_appendix_is_read_with_its_stage_3_row(forms, style):
    values = read_form_attachment(forms[style.name]).values()
    for key in ("child_name", "child_dob", "referrer_name", "referrer_email", "referrer_phone",
                "summary", "earlier_stages_evidence", "desired_outcome"):
        assert values[key] == ANSWERS[key], key
    assert values["stage_3_outcome_date"] == STAGE_3_DATE
    assert values["stage_3_evidence"] == STAGE_3_EVIDENCE


def test_a_filled_appendix_is_warned_about_nothing_bury_does_not_ask(forms):
    reading = read_form_attachment(forms["struck the other word"])
    result = validate(reading, required=BURY.form.required, warned=BURY.form.warned,
                      must_carry=BURY.stage(4).must_carry)
    assert result.referral is not None and result.warnings == []


def test_an_unanswered_box_is_warned_about_but_the_other_agency_is_not(tmp_path):
    [(_, data)] = convert(tmp_path, {"blank.html": appendix_html(
        "<p>&nbsp;&nbsp;Yes / No</p><p>&nbsp;</p><p>&nbsp;&nbsp;Name of safeguarding lead:</p>"
    ).encode()}).items()
    reading = read_form_attachment(data)
    assert reading.value("safeguarding_lead_aware") is None
    assert reading.value("safeguarding_lead_name") is None
    result = validate(reading, required=BURY.form.required, warned=BURY.form.warned)
    assert any("Designated safeguarding lead aware" in w for w in result.warnings)
    assert not any("Other agency" in w for w in result.warnings)


def test_the_stage_4_row_when_the_business_unit_has_filled_it(tmp_path):
    html = appendix_html("<p>Yes</p>").replace(
        "<td></td>\n<td> Final decision of:</td>",
        "<td>06/03/2026</td>\n<td> Final decision of: the BSCP Business Manager. Assessment"
        " to start.</td>")
    [(_, data)] = convert(tmp_path, {"done.html": html.encode()}).items()
    values = read_form_attachment(data).values()
    assert values["stage_4_outcome_date"].isoformat() == "2026-03-06"
    assert values["stage_4_final_decision"] == "the BSCP Business Manager. Assessment to start."
