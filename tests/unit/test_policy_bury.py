"""Bury (seed 003): the engine follows every rule of policies/bury.toml."""

from __future__ import annotations

import pytest
from policy_helpers import (
    BUSINESS_MANAGER,
    REFERRER,
    REFERRER_DSL,
    climb_to,
    emails,
    engine_for,
    events,
    london,
    open_case,
    person,
    rule_notices,
    stage_notices,
)

from mailbot.domain.case import CaseStatus, EventKind
from mailbot.domain.errors import CaseRuleRefused
from mailbot.domain.notices import Attachment, Template
from mailbot.domain.policy import TimeUnit

BM = BUSINESS_MANAGER.email


@pytest.fixture
def engine():
    return engine_for("bury")


def test_the_ladder_is_four_levels_from_practitioner_to_the_bscp(engine):
    names = [(s.number, s.name) for s in engine.policy.stages]
    assert names == [(1, "Practitioner to Practitioner"), (2, "Line Manager to Line Manager"),
                     (3, "Head of Service to Head of Service"),
                     (4, "Exceptional Circumstances - BSCP")]
    assert engine.policy.reference_prefix == "BSCP"


def test_no_stage_exceeds_ten_working_days(engine):
    for stage in engine.policy.stages:
        assert sum(p.amount for p in stage.phases) <= 10
        assert all(p.unit is TimeUnit.WORKING_DAYS for p in stage.phases)


def test_level_1_gives_practitioners_ten_working_days(engine):
    case, notices = open_case(engine, london(2026, 3, 2))
    assert case.stage == 1
    assert case.deadline == london(2026, 3, 16, 17)
    assert emails(stage_notices(notices)) == {REFERRER.email, "omar.other@council.example"}


def test_levels_2_to_4_each_run_within_one_week(engine):
    case, _ = open_case(engine, london(2026, 3, 2))
    engine.escalate(case, london(2026, 3, 17, 9, 30), BM)
    assert (case.stage, case.deadline) == (2, london(2026, 3, 24, 17))
    engine.escalate(case, london(2026, 3, 25), BM)
    assert (case.stage, case.deadline) == (3, london(2026, 4, 1, 17))
    engine.move_to_stage(case, 4, london(2026, 4, 13), BM)
    assert (case.stage, case.deadline) == (4, london(2026, 4, 20, 17))


def test_level_2_goes_to_line_managers_and_the_safeguarding_lead(engine):
    case, _ = open_case(engine, london(2026, 3, 2))
    notices = engine.escalate(case, london(2026, 3, 17), BM)
    # The form named the safeguarding lead; nobody holds line_manager yet.
    assert emails(stage_notices(notices)) == {REFERRER_DSL.email, BM}
    unassigned = [n for n in stage_notices(notices) if n.to == (BUSINESS_MANAGER,)]
    assert unassigned[0].context["unassigned"] == ["Line manager"]


def test_unresolved_level_3_goes_to_directors_within_two_working_days(engine):
    case, _ = open_case(engine, london(2026, 3, 25), stage_reached=3)
    engine.assign(case, "director", person("director"), london(2026, 3, 25), BM)
    assert case.deadline == london(2026, 4, 1, 17)

    notices = engine.chase(case, london(2026, 4, 2, 9))

    assert case.phase == 1
    # Two working days after Wednesday 1 April 2026, skipping Good Friday and Easter Monday.
    assert case.deadline == london(2026, 4, 7, 17)
    assert emails(stage_notices(notices)) == {"director@agency.example"}
    assert events(case, EventKind.FOLLOW_ON_STARTED)[0].at == london(2026, 4, 1, 17)


def test_a_resolution_at_level_3_is_sent_to_the_business_manager_for_thematics(engine):
    case, _ = open_case(engine, london(2026, 3, 2), stage_reached=3)
    notices = engine.record_outcome(case, "Agreed a joint visit.", london(2026, 3, 4), BM)
    assert emails(rule_notices(notices)) == {BM}
    assert "thematics" in rule_notices(notices)[0].context["why"]


def test_a_resolution_at_level_2_is_not_sent_for_thematics(engine):
    case, _ = open_case(engine, london(2026, 3, 2), stage_reached=2)
    notices = engine.record_outcome(case, "Agreed.", london(2026, 3, 4), BM)
    assert rule_notices(notices) == []


def test_a_level_4_form_opens_at_level_4_with_the_earlier_evidence(engine):
    evidence = "Stage 1: call on 2 March, no agreement.\nStage 3: heads of service met 20 March."
    case, notices = open_case(engine, london(2026, 3, 30), stage_reached=4,
                              earlier_stages_evidence=evidence)
    assert case.stage == 4
    opened = events(case, EventKind.CASE_OPENED)[0]
    assert "Level 4: Exceptional Circumstances - BSCP" in opened.text
    assert evidence in opened.text
    # Level 4 belongs to the BSCP Business Manager, here the mailbox's business manager.
    assert BM in emails(stage_notices(notices))


def test_the_business_manager_decides_at_level_4_and_the_referrer_gets_it_in_writing(engine):
    case, _ = open_case(engine, london(2026, 3, 30), stage_reached=4)
    notices = engine.record_decision(case, "The referral proceeds to strategy.",
                                     london(2026, 4, 1), BM)
    decision = next(n for n in notices if n.template == Template.DECISION)
    assert REFERRER.email in emails([decision])
    assert Attachment.DECISION_NOTICE in decision.attachments
    assert decision.context["decision_maker"] == "BSCP Business Manager"
    assert case.status is CaseStatus.DECIDED


def test_escalating_past_level_4_is_refused(engine):
    case, _ = open_case(engine, london(2026, 3, 2))
    climb_to(engine, case, 4, london(2026, 3, 3))
    with pytest.raises(CaseRuleRefused, match="the last level"):
        engine.escalate(case, london(2026, 3, 4), BM)
    assert case.stage == 4


@pytest.mark.parametrize("level", [1, 2, 3])
def test_deciding_below_level_4_is_refused(engine, level):
    case, _ = open_case(engine, london(2026, 3, 2), stage_reached=level)
    with pytest.raises(CaseRuleRefused, match="no decision maker"):
        engine.record_decision(case, "Decided.", london(2026, 3, 3), BM)
    assert case.is_open


def test_a_decided_case_cannot_be_escalated(engine):
    case, _ = open_case(engine, london(2026, 3, 30), stage_reached=4)
    engine.record_decision(case, "Decided.", london(2026, 3, 31), BM)
    with pytest.raises(CaseRuleRefused, match="closed case"):
        engine.escalate(case, london(2026, 4, 1), BM)


def test_immediate_risk_points_to_the_mash_and_999_is_marked_as_a_local_addition(engine):
    # Was: "call 999" inside the seed's guidance, unmarked; the seed names only the MASH.
    assert "MASH" in engine.policy.immediate_risk_guidance
    assert "999" not in engine.policy.immediate_risk_guidance
    assert "999" in engine.policy.immediate_risk_local


def test_the_general_guidance_is_loaded_not_lost_under_another_table(engine):
    assert any("10 working days" in line for line in engine.policy.general_guidance)
