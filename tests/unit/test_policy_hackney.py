"""City & Hackney (seed 001): the engine follows every rule of policies/hackney.toml."""

from __future__ import annotations

import pytest
from policy_helpers import (
    BUSINESS_MANAGER,
    climb_to,
    emails,
    engine_for,
    london,
    open_case,
    person,
    roles_now,
    rule_notices,
    stage_notices,
)

from mailbot.domain.errors import CaseRuleRefused
from mailbot.domain.notices import Template

BM = BUSINESS_MANAGER.email
CP_CHAIR, IRO, ICSC = "cp.chair@agency.example", "iro@agency.example", "icsc@agency.example"


@pytest.fixture
def engine():
    return engine_for("hackney", contacts=["icsc"])


def _with_cp_chair_and_iro(engine, case):
    for role in ("cp_chair", "iro"):
        engine.assign(case, role, person(role), case.opened_at, BM)


def test_the_ladder_is_four_stages_ending_with_the_commissioner(engine):
    assert [(s.number, sorted(s.responsible)) for s in engine.policy.stages] == [
        (1, ["practitioner"]), (2, ["line_manager"]), (3, ["senior_manager"]), (4, ["icsc"])]
    assert engine.policy.reference_prefix == "CHSCP"


def test_each_stage_has_one_working_week(engine):
    case, _ = open_case(engine, london(2026, 3, 2))
    assert case.deadline == london(2026, 3, 9, 17)
    for number in (2, 3, 4):
        engine.escalate(case, london(2026, 3, 10, 11), BM)
        assert (case.stage, case.deadline) == (number, london(2026, 3, 17, 17))


def test_a_week_over_christmas_2026_skips_the_bank_holidays(engine):
    # Thursday 24 December 2026: 25th, 28th (Boxing Day substitute) and 1 January are off.
    case, _ = open_case(engine, london(2026, 12, 24))
    assert case.deadline == london(2027, 1, 5, 17)


def test_a_child_protection_plan_means_the_cp_chair_is_told_at_stage_2(engine):
    case, _ = open_case(engine, london(2026, 3, 2), child_protection_plan=True, looked_after=False)
    _with_cp_chair_and_iro(engine, case)
    notices = engine.escalate(case, london(2026, 3, 3), BM)
    rules = rule_notices(notices)
    assert emails(rules) == {CP_CHAIR}
    assert "Child Protection Plan" in rules[0].context["why"]


def test_a_looked_after_child_means_the_iro_is_told_at_stage_2(engine):
    case, _ = open_case(engine, london(2026, 3, 2), looked_after=True, child_protection_plan=False)
    _with_cp_chair_and_iro(engine, case)
    notices = engine.escalate(case, london(2026, 3, 3), BM)
    rules = rule_notices(notices)
    assert emails(rules) == {IRO}
    assert "Looked After" in rules[0].context["why"]


def test_a_looked_after_child_on_a_plan_means_both_are_told_at_stage_2(engine):
    case, _ = open_case(engine, london(2026, 3, 2), looked_after=True, child_protection_plan=True)
    _with_cp_chair_and_iro(engine, case)
    notices = engine.escalate(case, london(2026, 3, 3), BM)
    assert emails(rule_notices(notices)) == {CP_CHAIR, IRO}


def test_without_a_plan_or_care_nobody_extra_is_told_at_stage_2(engine):
    case, _ = open_case(engine, london(2026, 3, 2), child_protection_plan=False,
                        looked_after=False)
    _with_cp_chair_and_iro(engine, case)
    notices = engine.escalate(case, london(2026, 3, 3), BM)
    assert rule_notices(notices) == []
    assert not {CP_CHAIR, IRO} & emails(notices)


def test_the_cp_chair_is_not_told_at_other_stages(engine):
    case, _ = open_case(engine, london(2026, 3, 2), child_protection_plan=True, stage_reached=2)
    _with_cp_chair_and_iro(engine, case)
    notices = engine.escalate(case, london(2026, 3, 3), BM)
    assert case.stage == 3 and rule_notices(notices) == []


def test_an_unknown_cp_chair_sends_the_notice_to_the_business_managers_to_assign(engine):
    case, _ = open_case(engine, london(2026, 3, 2), child_protection_plan=True, looked_after=False)
    notices = engine.escalate(case, london(2026, 3, 3), BM)
    rules = rule_notices(notices)
    assert emails(rules) == {BM}
    assert rules[0].context["unassigned"] == ["Child Protection Chair"]


def test_stage_4_goes_to_the_commissioner_by_email_to_the_partnership(engine):
    case, _ = open_case(engine, london(2026, 3, 2))
    notices = climb_to(engine, case, 4, london(2026, 3, 3))
    assert emails(stage_notices(notices)) == {ICSC}
    context = stage_notices(notices)[0].context
    assert "chscp@hackney.gov.uk" in context["what_happens"]
    assert any("Resolution Panel" in line and "three agencies" in line
               for line in context["guidance"])


def test_the_commissioner_makes_the_final_decision(engine):
    case, _ = open_case(engine, london(2026, 3, 2), stage_reached=4)
    notices = engine.record_decision(case, "Panel decision: assessment.", london(2026, 3, 5), BM)
    decision = next(n for n in notices if n.template == Template.DECISION)
    assert "Commissioner" in decision.context["decision_maker"]


def test_deciding_at_stage_3_is_refused(engine):
    case, _ = open_case(engine, london(2026, 3, 2), stage_reached=3)
    with pytest.raises(CaseRuleRefused, match="Stage 4"):
        engine.record_decision(case, "Decided.", london(2026, 3, 3), BM)


def test_escalating_past_stage_4_is_refused(engine):
    case, _ = open_case(engine, london(2026, 3, 2), stage_reached=4)
    with pytest.raises(CaseRuleRefused):
        engine.escalate(case, london(2026, 3, 3), BM)
    assert case.stage == 4


def test_a_resolved_case_cannot_be_moved(engine):
    case, _ = open_case(engine, london(2026, 3, 2))
    engine.record_outcome(case, "Agreed after a call.", london(2026, 3, 3), BM)
    with pytest.raises(CaseRuleRefused, match="resolved"):
        engine.move_to_stage(case, 3, london(2026, 3, 4), BM)


def test_stage_1_is_the_workers_themselves(engine):
    case, _ = open_case(engine, london(2026, 3, 2))
    assert roles_now(engine, case) == {"practitioner"}


def test_immediate_risk_means_telling_the_designated_safeguarding_lead(engine):
    assert "Designated Safeguarding Lead" in engine.policy.immediate_risk_guidance
    assert engine.policy.immediate_risk_source.startswith("Seed, 1.5")
