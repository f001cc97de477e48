"""Berkshire (seed 000): the engine follows every rule of policies/berkshire.toml."""

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
from mailbot.domain.policy import TimeUnit

BM = BUSINESS_MANAGER.email
LSSCP = "lsscp@agency.example"


@pytest.fixture
def engine():
    return engine_for("berkshire", contacts=["lsscp"])


def test_the_ladder_is_four_stages_and_the_seeds_conclusion_is_guidance_not_a_stage(engine):
    # Was five stages: "Stage Five - Conclusion" names no one who acts and no decision.
    assert [s.name for s in engine.policy.stages] == [
        "Preventing Disputes", "Dispute Procedure", "Formal Dispute Procedure",
        "Where disagreements remain"]
    assert engine.policy.reference_prefix == "BERKS"
    guidance = " ".join(engine.policy.general_guidance)
    assert "Berkshire Child Protection Policy and Procedures Sub Group" in guidance


def test_stage_1_discussion_is_due_by_close_of_the_next_working_day(engine):
    # Friday afternoon: one working day ends at close of business on Monday.
    case, notices = open_case(engine, london(2026, 3, 27, 15))
    assert (case.stage, case.phase) == (1, 0)
    assert case.deadline == london(2026, 3, 30, 17)
    assert roles_now(engine, case) == {"practitioner"}


def test_unresolved_discussion_goes_to_line_managers_for_twenty_four_clock_hours(engine):
    case, _ = open_case(engine, london(2026, 3, 27, 15))
    engine.assign(case, "line_manager", person("line_manager"), london(2026, 3, 27, 16), BM)

    notices = engine.chase(case, london(2026, 3, 30, 17))

    assert case.phase == 1
    # Twenty-four clock hours, not a working day: 17:00 Monday to 17:00 Tuesday.
    assert case.deadline == london(2026, 3, 31, 17)
    assert roles_now(engine, case) == {"line_manager"}
    assert emails(stage_notices(notices)) == {"line.manager@agency.example"}
    assert events(case, EventKind.FOLLOW_ON_STARTED)


def test_the_line_manager_phase_can_end_on_a_weekend_because_it_is_clock_hours(engine):
    case, _ = open_case(engine, london(2026, 3, 26, 10))   # Thursday
    engine.chase(case, london(2026, 3, 27, 17))             # discussion ends Friday 17:00
    assert case.deadline == london(2026, 3, 28, 17)         # Saturday 17:00 GMT
    phase = engine.policy.stage(1).phases[1]
    assert (phase.amount, phase.unit) == (24, TimeUnit.CLOCK_HOURS)


def test_twenty_four_clock_hours_across_the_clock_change_are_elapsed_hours(engine):
    # From Saturday 17:00 GMT, 24 elapsed hours end at 18:00 BST on Sunday 29 March.
    start = london(2026, 3, 28, 17)
    assert engine.deadline_after(start, 24, TimeUnit.CLOCK_HOURS) == london(2026, 3, 29, 18)


@pytest.mark.parametrize("number", [2, 3, 4])
def test_stages_without_a_seed_timescale_use_the_local_five_working_day_default(engine, number):
    phases = engine.policy.stage(number).phases
    assert [(p.amount, p.unit) for p in phases] == [(5, TimeUnit.WORKING_DAYS)]
    assert phases[0].source.startswith("Local default")


def test_each_later_stage_has_its_deadline_and_people(engine):
    case, _ = open_case(engine, london(2026, 3, 2))
    engine.escalate(case, london(2026, 3, 3), BM)   # Stage One's line managers first
    expected = {2: ({"safeguarding_lead"}, london(2026, 3, 10, 17)),
                3: ({"senior_manager"}, london(2026, 3, 10, 17)),
                4: ({"head_of_service", "senior_manager", "meeting_chair"},
                    london(2026, 3, 10, 17))}
    for number, (roles, deadline) in expected.items():
        engine.escalate(case, london(2026, 3, 3), BM)
        assert (case.stage, roles_now(engine, case), case.deadline) == (number, roles, deadline)


def test_at_stage_4_the_local_partners_are_told_when_the_stage_starts(engine):
    case, _ = open_case(engine, london(2026, 3, 2))
    notices = climb_to(engine, case, 4, london(2026, 3, 3))
    assert emails(rule_notices(notices)) == {LSSCP}


@pytest.mark.parametrize("number", [2, 3])
def test_before_stage_4_the_local_partners_are_not_told(engine, number):
    case, _ = open_case(engine, london(2026, 3, 2))
    notices = climb_to(engine, case, number, london(2026, 3, 3))
    assert LSSCP not in emails(notices)


def test_an_outcome_at_stage_4_is_forwarded_to_the_local_partners(engine):
    case, _ = open_case(engine, london(2026, 3, 2), stage_reached=4)
    notices = engine.record_outcome(case, "Agreed at the meeting.", london(2026, 3, 4), BM)
    assert LSSCP in emails(rule_notices(notices))


def test_an_outcome_at_stage_3_is_not_forwarded_to_the_local_partners(engine):
    case, _ = open_case(engine, london(2026, 3, 2), stage_reached=3)
    notices = engine.record_outcome(case, "Agreed.", london(2026, 3, 4), BM)
    assert LSSCP not in emails(notices)


def test_the_stage_4_meeting_decides_and_the_partners_receive_the_decision(engine):
    # Was: a decision at an invented Stage 5 attributed to the partners.
    case, _ = open_case(engine, london(2026, 3, 2), stage_reached=4)
    notices = engine.record_decision(case, "Assessment to go ahead.", london(2026, 3, 4), BM)
    decision = next(n for n in notices if n.template == Template.DECISION)
    assert decision.context["decision_by"].startswith("the meeting of senior managers")
    assert "uninvolved organisation" in decision.context["decision_by"]
    assert LSSCP in emails(rule_notices(notices))
    assert LSSCP not in emails([decision])  # they receive it; they did not decide


def test_the_stage_4_meeting_is_chaired_by_someone_from_an_uninvolved_organisation(engine):
    case, notices = open_case(engine, london(2026, 3, 2), stage_reached=4)
    guidance = " ".join(stage_notices(notices)[0].context["guidance"])
    assert "senior member from an uninvolved organisation" in guidance


def test_deciding_at_stage_3_is_refused_naming_the_stage_4_meeting(engine):
    case, _ = open_case(engine, london(2026, 3, 2), stage_reached=3)
    with pytest.raises(CaseRuleRefused, match="Stage 4: Where disagreements remain"):
        engine.record_decision(case, "Decided.", london(2026, 3, 3), BM)


def test_escalating_past_stage_4_is_refused(engine):
    case, _ = open_case(engine, london(2026, 3, 2), stage_reached=4)
    with pytest.raises(CaseRuleRefused, match="cannot be escalated"):
        engine.escalate(case, london(2026, 3, 3), BM)


def test_a_withdrawn_case_cannot_be_resolved(engine):
    case, _ = open_case(engine, london(2026, 3, 2))
    engine.withdraw(case, "Raised in error.", london(2026, 3, 2, 11), BM)
    with pytest.raises(CaseRuleRefused, match="withdrawn"):
        engine.record_outcome(case, "Agreed.", london(2026, 3, 3), BM)


def test_immediate_risk_means_the_safeguarding_lead_or_999(engine):
    text = engine.policy.immediate_risk_guidance
    assert "safeguarding lead" in text and "999" in text and "professional judgement" in text
