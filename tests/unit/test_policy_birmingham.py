"""Birmingham (seed 002): the engine follows every rule of policies/birmingham.toml."""

from __future__ import annotations

import pytest
from policy_helpers import (
    BUSINESS_MANAGER,
    climb_to,
    emails,
    engine_for,
    events,
    london,
    open_case,
    person,
    roles_now,
    rule_notices,
    stage_notices,
)

from mailbot.domain.case import EventKind
from mailbot.domain.errors import CaseRuleRefused
from mailbot.domain.notices import Template
from mailbot.domain.referral import AgencyType

BM = BUSINESS_MANAGER.email
CHAIR = "board.chair@agency.example"
CSC, SCHOOL = AgencyType.CHILDRENS_SOCIAL_CARE, AgencyType.SCHOOL
SELF_EMPLOYED, HEALTH = AgencyType.SELF_EMPLOYED, AgencyType.HEALTH


@pytest.fixture
def engine():
    return engine_for("birmingham", contacts=["board_chair"])


def _case(engine, first, second, **changes):
    return open_case(engine, london(2026, 3, 2), referrer_agency_type=first,
                     other_agency_type=second, **changes)


def test_the_ladder_is_five_stages_of_one_working_week(engine):
    case, _ = _case(engine, HEALTH, CSC)
    assert case.deadline == london(2026, 3, 9, 17)
    for number in (2, 3, 4, 5):
        engine.escalate(case, london(2026, 3, 10, 11), BM)
        assert (case.stage, case.deadline) == (number, london(2026, 3, 17, 17))
    assert engine.policy.reference_prefix == "BSCB"


@pytest.mark.parametrize("agencies", [(SCHOOL, SCHOOL), (SCHOOL, SELF_EMPLOYED),
                                      (SELF_EMPLOYED, SCHOOL)])
def test_schools_and_self_employed_go_from_stage_1_straight_to_stage_5(engine, agencies):
    case, _ = _case(engine, *agencies)
    notices = engine.escalate(case, london(2026, 3, 3), BM)
    assert case.stage == 5
    escalated = events(case, EventKind.ESCALATED)[0]
    assert "Routing rule" in escalated.text
    assert "directly from Stage One to Stage Five" in escalated.text
    assert emails(rule_notices(notices)) == {CHAIR}


@pytest.mark.parametrize("agencies", [(SCHOOL, CSC), (SELF_EMPLOYED, SELF_EMPLOYED),
                                      (SCHOOL, HEALTH), (HEALTH, CSC)])
def test_other_disagreements_climb_from_stage_1_to_stage_2(engine, agencies):
    case, _ = _case(engine, *agencies)
    engine.escalate(case, london(2026, 3, 3), BM)
    assert case.stage == 2


def test_a_school_to_school_case_at_stage_2_still_climbs_one_stage(engine):
    case, _ = _case(engine, SCHOOL, SCHOOL, stage_reached=2)
    engine.escalate(case, london(2026, 3, 3), BM)
    assert case.stage == 3


def test_a_childrens_social_care_case_gets_the_head_of_service_at_stage_2(engine):
    case, _ = _case(engine, HEALTH, CSC)
    engine.assign(case, "head_of_service", person("head_of_service"), london(2026, 3, 2), BM)
    notices = engine.escalate(case, london(2026, 3, 3), BM)
    assert roles_now(engine, case) == {"safeguarding_lead", "senior_manager", "head_of_service"}
    assert "head.of.service@agency.example" in emails(stage_notices(notices))


def test_a_case_without_childrens_social_care_has_no_head_of_service(engine):
    case, _ = _case(engine, HEALTH, AgencyType.POLICE, stage_reached=2)
    assert roles_now(engine, case) == {"safeguarding_lead", "senior_manager"}


def test_childrens_social_care_has_the_assistant_then_executive_director(engine):
    case, _ = _case(engine, HEALTH, CSC, stage_reached=3)
    assert roles_now(engine, case) == {"director"}
    engine.escalate(case, london(2026, 3, 3), BM)
    assert roles_now(engine, case) == {"chief_officer"}
    assert "Executive Director" in engine.policy.role_name("chief_officer")


@pytest.mark.parametrize("number", [2, 3, 4])
def test_a_school_brings_in_the_head_teacher_at_stages_2_to_4(engine, number):
    case, _ = _case(engine, SCHOOL, CSC, stage_reached=number)
    assert "head_teacher" in roles_now(engine, case)


@pytest.mark.parametrize("number", [1, 2, 3, 4])
def test_a_self_employed_professional_brings_in_the_safeguarding_lead_at_stages_1_to_4(
        engine, number):
    case, _ = _case(engine, SELF_EMPLOYED, CSC, stage_reached=number)
    assert "safeguarding_lead" in roles_now(engine, case)


def test_without_a_self_employed_professional_stage_1_is_the_managers_alone(engine):
    case, _ = _case(engine, HEALTH, CSC)
    assert roles_now(engine, case) == {"line_manager"}


def test_stage_5_goes_to_the_business_manager_who_tells_the_board_chair(engine):
    case, _ = _case(engine, HEALTH, CSC)
    notices = climb_to(engine, case, 5, london(2026, 3, 3))
    assert BM in emails(stage_notices(notices))
    assert emails(rule_notices(notices)) == {CHAIR}


def test_the_meeting_decides_and_its_chair_reports_to_the_board_chair(engine):
    # Was: the decision attributed to the chair of the Board.
    case, _ = _case(engine, HEALTH, CSC, stage_reached=5)
    notices = engine.record_decision(case, "Agreed statement: CSC to assess.",
                                     london(2026, 3, 4), BM)
    decision = next(n for n in notices if n.template == Template.DECISION)
    assert decision.context["decision_by"] == (
        "the meeting of senior managers with operational responsibility for the case, chaired"
        " by a Board member from an uninvolved agency")
    assert emails(rule_notices(notices)) == {CHAIR}


def test_the_outcome_is_a_written_statement_each_agency_files(engine):
    case, notices = _case(engine, HEALTH, CSC, stage_reached=5)
    record = stage_notices(notices)[0].context["record"]
    assert "written statement" in record and "child's record" in record
    notices = engine.record_outcome(case, "Statement: agreed plan.", london(2026, 3, 4), BM)
    outcome = next(n for n in notices if n.template == Template.OUTCOME)
    assert {"riya.referrer@school.example", "omar.other@council.example"} <= emails([outcome])


def test_deciding_before_stage_5_is_refused(engine):
    case, _ = _case(engine, HEALTH, CSC, stage_reached=4)
    with pytest.raises(CaseRuleRefused, match="Stage 5"):
        engine.record_decision(case, "Decided.", london(2026, 3, 3), BM)


def test_escalating_past_stage_5_is_refused(engine):
    case, _ = _case(engine, SCHOOL, SCHOOL)
    engine.escalate(case, london(2026, 3, 3), BM)
    with pytest.raises(CaseRuleRefused, match="last stage"):
        engine.escalate(case, london(2026, 3, 4), BM)


def test_a_withdrawn_case_cannot_be_decided(engine):
    case, _ = _case(engine, HEALTH, CSC, stage_reached=5)
    engine.withdraw(case, "Duplicate.", london(2026, 3, 3), BM)
    with pytest.raises(CaseRuleRefused, match="closed case"):
        engine.record_decision(case, "Decided.", london(2026, 3, 4), BM)


def test_immediate_risk_means_cass_or_the_emergency_duty_team(engine):
    text = engine.policy.immediate_risk_guidance
    assert "Children Advice and Support Service (CASS)" in text
    assert "Emergency Duty Team" in text
