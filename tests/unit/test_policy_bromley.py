"""Bromley (seed 004): the engine follows every rule of policies/bromley.toml."""

from __future__ import annotations

import pytest
from policy_helpers import (
    BUSINESS_MANAGER,
    REFERRER_DSL,
    climb_to,
    emails,
    engine_for,
    london,
    open_case,
    roles_now,
    rule_notices,
    stage_notices,
)

from mailbot.domain.errors import CaseRuleRefused
from mailbot.domain.notices import Template

BM = BUSINESS_MANAGER.email
CHAIR = "board.chair@agency.example"


@pytest.fixture
def engine():
    return engine_for("bromley", contacts=["board_chair"])


def test_the_ladder_is_four_stages_ending_with_the_bscb_chair(engine):
    assert [s.number for s in engine.policy.stages] == [1, 2, 3, 4]
    assert engine.policy.last_stage.decision_maker == "board_chair"
    assert engine.policy.reference_prefix == "BROM"


def test_each_stage_has_one_working_week(engine):
    # Friday 22 May 2026: the week runs past the Spring Bank Holiday on Monday 25 May.
    case, _ = open_case(engine, london(2026, 5, 22))
    assert case.deadline == london(2026, 6, 1, 17)
    for number in (2, 3, 4):
        engine.escalate(case, london(2026, 6, 2), BM)
        assert (case.stage, case.deadline) == (number, london(2026, 6, 9, 17))


def test_the_manager_or_dsl_handles_stages_1_to_3(engine):
    case, _ = open_case(engine, london(2026, 3, 2))
    for number in (1, 2):
        assert roles_now(engine, case) == {"line_manager", "safeguarding_lead"}, number
        engine.escalate(case, london(2026, 3, 3), BM)
    assert roles_now(engine, case) == {"line_manager", "safeguarding_lead", "senior_manager"}


@pytest.mark.parametrize("flag", ["child_protection_plan", "looked_after"])
def test_a_plan_or_care_means_the_dsl_must_be_made_aware_at_stage_2(engine, flag):
    case, _ = open_case(engine, london(2026, 3, 2), **{flag: True})
    notices = engine.escalate(case, london(2026, 3, 3), BM)
    rules = rule_notices(notices)
    assert emails(rules) == {REFERRER_DSL.email}
    assert "must be made aware" in rules[0].context["why"]


def test_without_a_plan_or_care_the_dsl_gets_only_the_stage_notice(engine):
    case, _ = open_case(engine, london(2026, 3, 2))
    notices = engine.escalate(case, london(2026, 3, 3), BM)
    assert rule_notices(notices) == []


def test_stage_4_goes_to_the_bscb_chair_by_email(engine):
    case, _ = open_case(engine, london(2026, 3, 2))
    notices = climb_to(engine, case, 4, london(2026, 3, 3))
    assert emails(stage_notices(notices)) == {CHAIR}
    context = stage_notices(notices)[0].context
    assert "bscb@bromley.gov.uk" in context["what_happens"]
    assert "Resolution Panel" in context["what_happens"]
    assert any("three agencies" in line for line in context["guidance"])


def test_the_bscb_chair_makes_the_final_decision(engine):
    case, _ = open_case(engine, london(2026, 3, 2), stage_reached=4)
    notices = engine.record_decision(case, "Resolution Panel decision.", london(2026, 3, 4), BM)
    decision = next(n for n in notices if n.template == Template.DECISION)
    assert decision.context["decision_maker"] == "Independent Chair of the BSCB"


def test_deciding_before_stage_4_is_refused(engine):
    case, _ = open_case(engine, london(2026, 3, 2), stage_reached=2)
    with pytest.raises(CaseRuleRefused, match="no decision maker"):
        engine.record_decision(case, "Decided.", london(2026, 3, 3), BM)


def test_escalating_past_stage_4_is_refused(engine):
    case, _ = open_case(engine, london(2026, 3, 2), stage_reached=4)
    with pytest.raises(CaseRuleRefused):
        engine.escalate(case, london(2026, 3, 3), BM)


def test_a_decided_case_cannot_be_extended(engine):
    case, _ = open_case(engine, london(2026, 3, 2), stage_reached=4)
    engine.record_decision(case, "Decided.", london(2026, 3, 3), BM)
    with pytest.raises(CaseRuleRefused, match="decided"):
        engine.extend(case, 2, london(2026, 3, 4), BM)


def test_immediate_risk_means_a_mash_referral_by_the_manager_or_dsl(engine):
    text = engine.policy.immediate_risk_guidance
    assert "MASH" in text and "manager or designated safeguarding lead (DSL)" in text
