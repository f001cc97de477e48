"""Finding 9 of issue 13 (and the forms of finding 7): each partnership in its own terms.
Decision notices say what that partnership's seed says and attribute the decision as it does;
Bury's steps are levels in emails, calendar entries, `cases show` and `policies show`; blank
forms carry the policy's own name; example addresses are on .example domains except the
seeds' own mailboxes."""

from __future__ import annotations

import io
import re
from pathlib import Path

import docx
import pytest
from policy_helpers import (
    BUSINESS_MANAGER,
    engine_for,
    london,
    of_template,
    open_case,
    render_notice,
)

from mailbot.adapters.decision_notice import Decision, build_decision_notice
from mailbot.adapters.jinja_renderer import DEFAULT_TEMPLATE_DIR, JinjaRenderer
from mailbot.adapters.policy_files import DEFAULT_POLICY_DIR, load_policy
from mailbot.domain.notices import Template
from mailbot.entrypoints.reports import _case_lines, show_policy
from mailbot.intake.form_builder import PARTNERSHIPS, build_form

ROOT = Path(__file__).resolve().parents[2]
BM = BUSINESS_MANAGER.email
FINAL = {"bury": 4, "hackney": 4, "bromley": 4, "birmingham": 5, "berkshire": 4}
SEED_MAILBOXES = {"bsp@bury.gov.uk", "chscp@hackney.gov.uk", "bscb@bromley.gov.uk"}


def _notice_text(name: str) -> str:
    engine = engine_for(name)
    case, _ = open_case(engine, london(2026, 3, 2), stage_reached=FINAL[name] - 1,
                        earlier_stages_evidence="Earlier stages: no agreement.",
                        actions_to_date="Three meetings.", referral_rationale="Stalemate.")
    engine.escalate(case, london(2026, 3, 3), BM)
    while case.stage < FINAL[name]:   # a stage with a second phase goes there first
        engine.escalate(case, london(2026, 3, 3, 12), BM)
    engine.record_decision(case, "The assessment goes ahead.", london(2026, 3, 4), BM)
    decision = Decision(case.decision, engine.policy.decided_by(engine.policy.stage(case.stage)),
                        london(2026, 3, 4), BM)
    document = docx.Document(io.BytesIO(build_decision_notice(case, decision, engine.policy)))
    lines = [p.text for p in document.paragraphs]
    lines += [cell.text for table in document.tables for row in table.rows for cell in row.cells]
    return "\n".join(lines)


@pytest.mark.parametrize("name", ["hackney", "bromley", "birmingham", "berkshire"])
def test_only_bury_uses_burys_appendix_1_wording_in_its_decision_notice(name):
    text = _notice_text(name)
    assert "Safeguarding Partnership Business Unit" not in text
    assert "Outcome Resolution Notice" not in text
    terms = load_policy(name).decision_notice
    assert terms.title in text and terms.decision_row in text and terms.closing in text


@pytest.mark.parametrize("name", sorted(FINAL))
def test_every_decision_notice_carries_the_earlier_evidence(name):
    text = _notice_text(name)
    assert "Earlier stages: no agreement." in text
    if name != "bury":  # Appendix 1 has no boxes for these
        assert "Three meetings." in text and "Stalemate." in text


def test_burys_decision_notice_is_its_appendix_1():
    text = _notice_text("bury")
    assert "Request for Resolution Document" in text
    assert "Stage 4 (to be completed by Safeguarding Partnership Business Unit)" in text
    assert "Final decision of: the BSCP Business Manager" in text


@pytest.mark.parametrize("name, words", [
    ("birmingham", "Final decision of: the meeting of senior managers with operational"
                   " responsibility for the case, chaired by a Board member from an uninvolved"
                   " agency"),
    ("berkshire", "Final decision of: the meeting of senior managers with operational"
                  " responsibility for the case, chaired by a senior member from an uninvolved"
                  " organisation"),
    ("hackney", "Final decision of: the Independent Child Safeguarding Commissioner"),
])
def test_the_decision_is_attributed_as_the_seed_attributes_it(name, words):
    assert words in _notice_text(name)


def test_berkshire_has_no_invented_stage_5_and_decides_at_the_stage_4_meeting():
    policy = load_policy("berkshire")
    assert [s.number for s in policy.stages] == [1, 2, 3, 4]
    assert policy.last_stage.decision_maker == "meeting_chair"


def test_burys_steps_are_levels_in_emails_calendar_entries_and_cases_show():
    engine = engine_for("bury")
    case, notices = open_case(engine, london(2026, 3, 2))
    notice = of_template(notices, Template.STAGE_NOTICE)[0]
    renderer = JinjaRenderer([DEFAULT_TEMPLATE_DIR], Path("/nonexistent"))
    email = renderer.render(notice, case=case, policy=engine.policy,
                            partnership_name=engine.policy.name, recipient=notice.to[0])
    assert "Level 1: Practitioner to Practitioner" in email.subject
    assert "Stage 1" not in email.text
    [(_, _, ics)] = email.attachments
    assert b"SUMMARY:[BSCP-2026-0001] Level 1 deadline: Practitioner to Practitioner" in ics
    shown = "\n".join(_case_lines(case, engine.policy))
    assert "Level 1: Practitioner to Practitioner" in shown and "(Level 1)" in shown
    assert "  Level 4: Exceptional Circumstances - BSCP" in show_policy(DEFAULT_POLICY_DIR, "bury")


def test_other_policies_keep_stages():
    engine = engine_for("hackney")
    case, notices = open_case(engine, london(2026, 3, 2))
    text = render_notice(engine, of_template(notices, Template.ACKNOWLEDGEMENT)[0], case).text
    assert "Stage 1: Discuss with the other worker" in text


@pytest.mark.parametrize("name", sorted(PARTNERSHIPS))
def test_each_blank_form_carries_the_policys_own_name(name):
    document = docx.Document(io.BytesIO(build_form(name)))
    assert document.core_properties.title.startswith(load_policy(name).name)
    shipped = docx.Document(ROOT / "forms" / f"{name}.docx")
    assert shipped.core_properties.title.startswith(load_policy(name).name)


_ADDRESS = re.compile(r"(?<![/\w.+-])[\w.+-]+@([\w-]+\.)+[A-Za-z]{2,}")


def _documents() -> list[Path]:
    return [ROOT / "README.md", ROOT / "config.example.toml", *sorted(ROOT.glob("policies/*")),
            *sorted(ROOT.glob("templates/*"))]


@pytest.mark.parametrize("path", _documents(), ids=lambda p: p.name)
def test_example_addresses_are_on_example_domains_except_the_seeds_own_mailboxes(path):
    text = path.read_text(encoding="utf-8")
    for match in _ADDRESS.finditer(text):
        address = match.group(0)
        if text[max(0, match.start() - 3):match.start()].endswith("//"):
            continue  # user@host in a database URL
        assert address.lower() in SEED_MAILBOXES or address.lower().endswith(".example"), address


def test_the_seeds_own_mailbox_is_kept_as_the_seed_spells_it():
    assert "bscb@bromley.gov.uk" in (ROOT / "policies" / "bromley.toml").read_text()
    assert "bscp@bromley.gov.uk" not in (ROOT / "config.example.toml").read_text()
    assert "bscp@bromley.gov.uk" not in (ROOT / "README.md").read_text()



@pytest.mark.parametrize("name", ["hackney", "birmingham"])
def test_a_missing_category_of_disagreement_is_pointed_out_where_the_seed_lists_them(name):
    from mailbot.intake.email_form import read_email_form
    from mailbot.intake.form_validation import validate

    policy = load_policy(name)
    reading = read_email_form("Child's name: Sam\nReferrer's name: Jo\nSummary of disagreement:"
                              " x\n", "")
    result = validate(reading, required=policy.form.required, warned=policy.form.warned,
                      sender_email="jo@agency.example")
    assert "Category of disagreement was not given" in result.warnings
