"""Every notice the case engine makes carries a typed context (issue 17): a dataclass the
engine fills and the renderer reads, so a fact left out or misspelt fails where the notice
is made, not as a blank in an email."""

from __future__ import annotations

from datetime import timedelta

import pytest
from policy_helpers import engine_for, london, sample_referral

from mailbot.domain.notice_contexts import NoticeContext, OpeningFacts, StageFacts


def _a_case_through_its_life() -> list:
    engine = engine_for("bury")
    now = london(2026, 12, 1)
    case, notices = engine.open_case(sample_referral(), "BSCP-2026-0001", now, "<m1@school.example>")
    notices += engine.shorten(case, 1, now, "bm@partnership.example", "the child is at risk")
    notices += engine.escalate(case, now + timedelta(hours=1), "bm@partnership.example")
    notices += engine.chase(case, now + timedelta(days=30))
    notices += engine.record_bounce(case, "mail to x could not be delivered", now, "<b@x>")
    later = now + timedelta(days=31)
    notices += engine.withdraw(case, "the agencies agreed", later, "bm@partnership.example")
    return notices


def test_every_notice_of_a_case_carries_a_typed_context_of_its_stage():
    notices = _a_case_through_its_life()
    assert len({n.template for n in notices}) >= 6
    for notice in notices:
        assert isinstance(notice.context, StageFacts), notice.template
        assert notice.context["stage_number"] == notice.context.stage_number


def test_a_fact_the_template_needs_cannot_be_left_out_or_misspelt():
    stage = engine_for("bury").audience.stage_fields(_opened())
    with pytest.raises(TypeError):
        OpeningFacts(**stage)  # the acknowledgement's own facts are missing
    with pytest.raises(TypeError):
        OpeningFacts(**stage, warnings=[], entry_words="", routing_question=[])
    assert isinstance(OpeningFacts(**stage, warnings=[], entry_words="", routing_questions=[]),
                      NoticeContext)


def _opened():
    engine = engine_for("bury")
    return engine.open_case(sample_referral(), "BSCP-2026-0001", london(2026, 12, 1))[0]
