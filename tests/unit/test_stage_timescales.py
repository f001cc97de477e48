"""Finding 2 of issue 13: a policy's stage time limit holds. EXTEND past Bury's ten working
days is refused in the policy's words; Hackney's and Bromley's one-week guide is passed only
with a reason, which the business managers read; SHORTEN brings a deadline forward, for "a
timescale that protects the child (whichever is shortest)"."""

from __future__ import annotations

import pytest
from policy_helpers import (
    BUSINESS_MANAGER,
    emails,
    engine_for,
    events,
    london,
    of_template,
    open_case,
    render_notice,
)

from mailbot.domain.case import EventKind
from mailbot.domain.command_parser import parse_reply
from mailbot.domain.errors import CaseRuleRefused
from mailbot.domain.notices import Template
from mailbot.intake.reply_text import own_text_of

BM = BUSINESS_MANAGER.email


def test_extend_past_burys_ten_working_days_is_refused_in_the_policys_words():
    engine = engine_for("bury")
    case, _ = open_case(engine, london(2026, 3, 2), stage_reached=2)   # a week: 9 March
    with pytest.raises(CaseRuleRefused) as refused:
        engine.extend(case, 6, london(2026, 3, 5), BM, "the agencies agreed")
    assert "Each stage should not exceed 10 working days." in refused.value.reason
    assert "16 March 2026 17:00" in refused.value.reason, "the latest Level 2 may run to"
    assert case.deadline == london(2026, 3, 9, 17)


def test_extend_within_burys_limit_is_taken():
    engine = engine_for("bury")
    case, _ = open_case(engine, london(2026, 3, 2), stage_reached=2)
    engine.extend(case, 5, london(2026, 3, 5), BM)
    assert case.deadline == london(2026, 3, 16, 17)


def test_level_1_of_bury_already_uses_all_ten_days_so_it_cannot_be_extended():
    engine = engine_for("bury")
    case, _ = open_case(engine, london(2026, 3, 2))
    with pytest.raises(CaseRuleRefused, match="should not exceed 10 working days"):
        engine.extend(case, 1, london(2026, 3, 5), BM)


@pytest.mark.parametrize("name", ["hackney", "bromley", "birmingham"])
def test_going_past_a_one_week_guide_needs_a_reason(name):
    engine = engine_for(name)
    case, _ = open_case(engine, london(2026, 3, 2))
    with pytest.raises(CaseRuleRefused, match="give the reason the agencies agreed"):
        engine.extend(case, 2, london(2026, 3, 5), BM)
    assert case.deadline == london(2026, 3, 9, 17)


def test_hackneys_guide_passed_with_a_reason_is_recorded_and_the_business_managers_are_told():
    engine = engine_for("hackney")
    case, _ = open_case(engine, london(2026, 3, 2))
    notices = engine.extend(case, 2, london(2026, 3, 5), BM, "the conference is on 11 March")
    assert case.deadline == london(2026, 3, 11, 17)
    text = events(case, EventKind.DEADLINE_EXTENDED)[0].text
    assert "beyond the policy's timescale" in text and "whichever is shortest" in text
    [extended] = of_template(notices, Template.DEADLINE_EXTENDED)
    assert BM in emails([extended])
    assert "whichever is shortest" in render_notice(engine, extended, case, BUSINESS_MANAGER).text


def test_a_policy_without_a_limit_extends_as_before():
    engine = engine_for("berkshire")
    case, _ = open_case(engine, london(2026, 3, 2), stage_reached=2)
    engine.extend(case, 20, london(2026, 3, 5), BM)
    assert case.deadline == london(2026, 4, 8, 17)


def test_shorten_brings_the_deadline_forward_and_tells_those_acting():
    engine = engine_for("hackney")
    case, _ = open_case(engine, london(2026, 3, 2))                     # due Monday 9 March
    notices = engine.shorten(case, 2, london(2026, 3, 3), BM, "the child is at risk")
    assert case.deadline == london(2026, 3, 5, 17)
    [changed] = of_template(notices, Template.DEADLINE_EXTENDED)
    assert emails([changed]) >= {BM, "riya.referrer@school.example"}
    email = render_notice(engine, changed, case, BUSINESS_MANAGER)
    assert "brought forward" in email.subject and "brought forward" in email.text
    assert case.next_chase_at == london(2026, 3, 4, 9), "the reminder for the new deadline"


def test_shorten_into_the_past_is_refused():
    engine = engine_for("hackney")
    case, _ = open_case(engine, london(2026, 3, 2))
    with pytest.raises(CaseRuleRefused, match="already passed"):
        engine.shorten(case, 4, london(2026, 3, 4), BM)
    assert case.deadline == london(2026, 3, 9, 17)


def test_shorten_is_a_reply_command_and_survives_the_quote_stripper():
    from mailbot.domain.commands import ShortenDeadline

    text = own_text_of("SHORTEN 2: the child is at risk\n\nKind regards,\nBea")
    assert parse_reply(text).commands == (ShortenDeadline(2, "the child is at risk"),)
    assert parse_reply("shorten").problems


def test_the_reply_command_help_offers_shorten_and_quotes_the_limit():
    engine = engine_for("bury")
    case, notices = open_case(engine, london(2026, 3, 2))
    [new_case] = of_template(notices, Template.NEW_CASE)
    text = render_notice(engine, new_case, case, BUSINESS_MANAGER).text
    assert "SHORTEN n or SHORTEN n: reason" in text
    assert "Each stage should not exceed 10 working days." in text


def test_burys_ten_day_limit_reaches_the_referrer_in_the_acknowledgement():
    engine = engine_for("bury")
    case, notices = open_case(engine, london(2026, 3, 2))
    [ack] = of_template(notices, Template.ACKNOWLEDGEMENT)
    assert "Each stage should not exceed 10 working days." in render_notice(engine, ack, case).text
