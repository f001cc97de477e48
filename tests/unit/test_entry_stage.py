"""Finding 1 of issue 13: a referral the seed sends to the partnership at its final stage
opens there, not at stage 1, and everything follows from where it opens."""

from __future__ import annotations

import pytest
from policy_helpers import (
    BUSINESS_MANAGER,
    REFERRER,
    emails,
    engine_for,
    events,
    london,
    of_template,
    open_case,
    person,
    render_notice,
    rule_notices,
)

from mailbot.adapters.policy_files import DEFAULT_POLICY_DIR
from mailbot.domain.case import CaseStatus, EventKind
from mailbot.domain.notices import Template
from mailbot.entrypoints.reports import show_policy

BM = BUSINESS_MANAGER.email
ENTRY = {"bury": 4, "hackney": 4, "bromley": 4, "birmingham": 5, "berkshire": 4}
CONTACTS = {"hackney": ["icsc"], "bromley": ["board_chair"], "birmingham": ["board_chair"],
            "berkshire": ["lsscp"], "bury": []}


@pytest.mark.parametrize("name", sorted(ENTRY))
def test_a_referral_stating_no_stage_opens_where_the_policy_sends_it(name):
    engine = engine_for(name, contacts=CONTACTS[name])
    case, notices = open_case(engine, london(2026, 3, 2), stage_reached=None)
    assert case.stage == ENTRY[name] == engine.policy.entry.stage
    opened = events(case, EventKind.CASE_OPENED)[0].text
    assert engine.policy.entry.words in opened, "the record quotes the seed's words"
    [ack] = of_template(notices, Template.ACKNOWLEDGEMENT)
    assert ack.context["stage_number"] == ENTRY[name]
    assert engine.policy.entry.words in ack.context["entry_words"]


@pytest.mark.parametrize("name", sorted(ENTRY))
def test_a_stated_stage_still_wins(name):
    engine = engine_for(name, contacts=CONTACTS[name])
    case, _ = open_case(engine, london(2026, 3, 2), stage_reached=2)
    assert case.stage == 2


def test_bury_opens_at_level_4_with_the_business_manager_acting_and_a_level_4_deadline():
    engine = engine_for("bury")
    case, notices = open_case(engine, london(2026, 3, 2), stage_reached=None)
    # Level 4 is "within one week": Monday 9 March, not Level 1's ten working days.
    assert case.deadline == london(2026, 3, 9, 17)
    [ack] = of_template(notices, Template.ACKNOWLEDGEMENT)
    text = render_notice(engine, ack, case).text
    assert "Level 4: Exceptional Circumstances - BSCP" in text
    assert "Who acts next: BSCP Business Manager" in text
    assert "Who acts next: Practitioner" not in text
    assert BM in emails(n for n in notices if n.template == Template.STAGE_NOTICE)


def test_the_business_managers_decision_is_taken_at_once_and_reaches_the_referrer():
    engine = engine_for("bury")
    case, _ = open_case(engine, london(2026, 3, 2), stage_reached=None)
    notices = engine.record_decision(case, "An assessment will start.", london(2026, 3, 4), BM)
    assert case.status is CaseStatus.DECIDED
    assert REFERRER.email in emails(of_template(notices, Template.DECISION))


def test_the_chasers_run_against_the_entry_stage_deadline():
    engine = engine_for("bury")
    case, _ = open_case(engine, london(2026, 3, 2), stage_reached=None)
    [reminder] = engine.chase(case, london(2026, 3, 6, 9))      # the working day before 9 March
    assert reminder.template == Template.REMINDER and reminder.context["stage_number"] == 4


def test_hackneys_cp_chair_is_told_when_a_case_enters_at_stage_4_past_stage_2():
    engine = engine_for("hackney", contacts=["icsc"])
    case, notices = open_case(engine, london(2026, 3, 2), stage_reached=None,
                              child_protection_plan=True)
    told = [n for n in rule_notices(notices) if "cp_chair" in n.context["rule_roles"]]
    assert len(told) == 1, "the Stage 2 rule fires for the stage the case passed over"
    # Nobody is named as CP Chair yet: the business managers are asked to name them.
    assert emails(told) == {BM} and told[0].context["unassigned"] == ["Child Protection Chair"]
    assert "passed over Stage 2" in told[0].context["why"]


def test_a_named_cp_chair_hears_of_a_case_that_jumps_from_stage_1_to_4():
    engine = engine_for("hackney", contacts=["icsc"])
    case, _ = open_case(engine, london(2026, 3, 2), child_protection_plan=True)
    engine.assign(case, "cp_chair", person("cp_chair"), london(2026, 3, 2), BM)
    notices = engine.move_to_stage(case, 4, london(2026, 3, 3), BM)
    assert "cp.chair@agency.example" in emails(rule_notices(notices))


def test_bromleys_dsl_is_made_aware_when_a_looked_after_childs_case_enters_at_stage_4():
    engine = engine_for("bromley", contacts=["board_chair"])
    case, notices = open_case(engine, london(2026, 3, 2), stage_reached=None, looked_after=True)
    assert "dee.lead@school.example" in emails(rule_notices(notices))


def test_without_a_plan_or_care_no_passed_over_rule_fires():
    engine = engine_for("hackney", contacts=["icsc"])
    _, notices = open_case(engine, london(2026, 3, 2), stage_reached=None)
    assert not [n for n in rule_notices(notices) if "passed over" in n.context["why"]]


@pytest.mark.parametrize("name", sorted(ENTRY))
def test_policies_show_says_where_a_referral_opens_with_the_seeds_words(name):
    shown = show_policy(DEFAULT_POLICY_DIR, name)
    entry = engine_for(name).policy.entry
    assert f"opens at {engine_for(name).policy.label(entry.stage)}" in shown
    assert entry.words in shown
