"""Findings 5, 8 and 9 of issue 13: everyone the policy names hears what it says. The worker
who raised the concern hears of every stage change and meeting; each policy's guidance and
immediate-risk text reach the people acting, local additions marked; Bury's safeguarding
lead is consulted at every level; Berkshire's partners hear everything from Stage 4 on; and
ESCALATE during a stage's first phase moves to its second phase, not past it."""

from __future__ import annotations

import pytest
from policy_helpers import (
    BUSINESS_MANAGER,
    REFERRER,
    REFERRER_DSL,
    emails,
    engine_for,
    london,
    of_template,
    open_case,
    person,
    render_notice,
    rule_notices,
    stage_notices,
)

from mailbot.domain.notices import Template

BM = BUSINESS_MANAGER.email
LSSCP = "lsscp@agency.example"


@pytest.mark.parametrize("name", ["bury", "hackney", "bromley", "birmingham", "berkshire"])
def test_the_referrer_is_told_of_every_stage_change(name):
    engine = engine_for(name)
    case, _ = open_case(engine, london(2026, 3, 2), stage_reached=2)
    notices = engine.move_to_stage(case, 3, london(2026, 3, 3), BM, "no agreement")
    to_referrer = [n for n in of_template(notices, Template.STAGE_CHANGE)
                   if REFERRER.email in emails([n])]
    assert len(to_referrer) == 1
    text = render_notice(engine, to_referrer[0], case, REFERRER).text
    assert f"Dear {REFERRER.name}" in text and "You are told because you raised the concern" in text
    assert "Reply commands" not in text, "the referrer cannot change the case"


def test_burys_level_4_meeting_is_announced_to_the_referrer_and_the_agencies():
    engine = engine_for("bury")
    case, _ = open_case(engine, london(2026, 3, 2), stage_reached=3)
    notices = engine.move_to_stage(case, 4, london(2026, 3, 3), BM)
    meeting = [n for n in rule_notices(notices) if "further meeting" in n.context["why"]]
    assert emails(meeting) >= {REFERRER.email, "omar.other@council.example"}


@pytest.mark.parametrize("level", [1, 2, 3, 4])
def test_burys_safeguarding_lead_is_consulted_at_every_level(level):
    engine = engine_for("bury")
    case, notices = open_case(engine, london(2026, 3, 2), stage_reached=level)
    told = emails(stage_notices(notices)) | emails(rule_notices(notices))
    assert REFERRER_DSL.email in told


def test_escalating_during_burys_heads_of_service_week_goes_to_the_directors_first():
    engine = engine_for("bury")
    case, _ = open_case(engine, london(2026, 3, 2), stage_reached=3)
    engine.assign(case, "director", person("director"), london(2026, 3, 2), BM)
    notices = engine.escalate(case, london(2026, 3, 3), BM)
    assert (case.stage, case.phase) == (3, 1)
    assert case.deadline == london(2026, 3, 5, 17), "within 2 working days"
    assert "director@agency.example" in emails(stage_notices(notices))
    engine.escalate(case, london(2026, 3, 4), BM)
    assert (case.stage, case.phase) == (4, 0)


def test_escalating_during_berkshires_discussion_day_goes_to_the_line_managers():
    engine = engine_for("berkshire")
    case, _ = open_case(engine, london(2026, 3, 2))
    engine.escalate(case, london(2026, 3, 2, 11), BM)
    assert (case.stage, case.phase) == (1, 1)
    assert case.deadline == london(2026, 3, 3, 11), "twenty-four hours"


def test_berkshires_partners_hear_of_extensions_and_withdrawal_from_stage_4():
    engine = engine_for("berkshire", contacts=["lsscp"])
    case, _ = open_case(engine, london(2026, 3, 2), stage_reached=4)
    assert LSSCP in emails(rule_notices(engine.extend(case, 2, london(2026, 3, 3), BM)))
    assert LSSCP in emails(rule_notices(engine.withdraw(case, "Agreed outside the process.",
                                                        london(2026, 3, 4), BM)))


def test_before_stage_4_berkshires_partners_hear_nothing_of_an_extension():
    engine = engine_for("berkshire", contacts=["lsscp"])
    case, _ = open_case(engine, london(2026, 3, 2), stage_reached=3)
    assert LSSCP not in emails(engine.extend(case, 2, london(2026, 3, 3), BM))


def test_berkshires_second_tier_managers_hear_of_any_action_agreed_at_any_stage():
    engine = engine_for("berkshire")
    case, _ = open_case(engine, london(2026, 3, 2), stage_reached=2)
    engine.assign(case, "director", person("director"), london(2026, 3, 2), BM)
    notices = engine.record_outcome(case, "Agreed a joint visit.", london(2026, 3, 3), BM)
    [told] = [n for n in rule_notices(notices) if "second tier" in n.context["why"]]
    assert emails([told]) == {"director@agency.example"}


GUIDANCE = {
    "bury": "Each stage should not exceed 10 working days.",
    "hackney": "arrangements for whistleblowing",
    "bromley": "BSCB administrator on BSCB@bromley.gov.uk or 0208 461 7816",
    "birmingham": "Right Help Right Time threshold descriptors",
    "berkshire": "second tier management staff",
}


@pytest.mark.parametrize("name", sorted(GUIDANCE))
def test_each_policys_guidance_reaches_the_acknowledgement_and_every_stage_notice(name):
    engine = engine_for(name)
    case, notices = open_case(engine, london(2026, 3, 2))
    for notice in of_template(notices, Template.ACKNOWLEDGEMENT) + stage_notices(notices):
        email = render_notice(engine, notice, case)
        assert GUIDANCE[name] in email.text and GUIDANCE[name] in email.html


@pytest.mark.parametrize("name", sorted(GUIDANCE))
def test_every_stage_notice_gives_the_immediate_risk_text_even_when_the_form_says_no_risk(name):
    engine = engine_for(name)
    case, notices = open_case(engine, london(2026, 3, 2), immediate_risk=False)
    for notice in stage_notices(notices):
        text = render_notice(engine, notice, case).text
        assert engine.policy.immediate_risk_guidance in text


@pytest.mark.parametrize("name", ["bury", "hackney", "bromley"])
def test_a_local_999_line_is_marked_as_not_in_the_policy(name):
    engine = engine_for(name)
    case, notices = open_case(engine, london(2026, 3, 2))
    [ack] = of_template(notices, Template.ACKNOWLEDGEMENT)
    email = render_notice(engine, ack, case)
    marker = "Call 999 if the child is in immediate danger. (Added locally by"
    assert marker in email.text
    assert "this line is not in the policy document" in email.html
    assert "999" not in engine.policy.immediate_risk_guidance


@pytest.mark.parametrize("name", sorted(GUIDANCE))
def test_every_line_of_a_policys_guidance_reaches_the_stage_notices_of_its_stages(name):
    engine = engine_for(name)
    for stage in engine.policy.stages:
        case, notices = open_case(engine, london(2026, 3, 2), stage_reached=stage.number)
        notice = (stage_notices(notices) or rule_notices(notices))[0]
        text = " ".join(render_notice(engine, notice, case).text.split())
        for line in (*stage.guidance, *engine.policy.general_guidance, stage.what_happens,
                     stage.record, engine.policy.immediate_risk_guidance):
            assert " ".join(line.split()) in text, (stage.number, line)


def test_an_outcome_goes_to_everyone_on_the_case_and_closes_it():
    engine = engine_for("berkshire")
    case, _ = open_case(engine, london(2026, 3, 2))
    engine.assign(case, "line_manager", person("line_manager"), london(2026, 3, 2), BM)
    notices = engine.record_outcome(case, "Agreed a joint visit.", london(2026, 3, 3), BM)
    [outcome] = of_template(notices, Template.OUTCOME)
    assert emails([outcome]) >= {REFERRER.email, "omar.other@council.example",
                                 "line.manager@agency.example", BM}
    assert not case.is_open
