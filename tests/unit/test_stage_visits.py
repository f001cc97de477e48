"""The stages a case went through, read back from its history, against the policy's timescale."""

from __future__ import annotations

from datetime import datetime

from rendering_cases import BUSINESS_MANAGER, OPENED, at, bury, referral

from mailbot.domain.stage_visits import stage_visits, timescale_end, timescale_words
from mailbot.domain.working_days import LONDON

POLICY, ENGINE = bury()


def _visits(case):
    return stage_visits(((e.at, e.kind, e.stage) for e in case.history), POLICY, ENGINE.calendar)


def test_each_stage_has_its_dates_and_the_policy_deadline_it_entered_with():
    case, _ = ENGINE.open_case(referral(), "BSCP-2026-0001", OPENED)  # Monday 14 December
    ENGINE.escalate(case, at(16), BUSINESS_MANAGER.email)
    ENGINE.extend(case, 2, at(17), BUSINESS_MANAGER.email)
    ENGINE.escalate(case, at(6, 10, 1, 2027), BUSINESS_MANAGER.email)
    ENGINE.record_outcome(case, "Agreed.", at(7, 12, 1, 2027), BUSINESS_MANAGER.email)
    first, second, third = _visits(case)
    assert (first.stage, first.entered, first.left) == (1, OPENED, at(16))
    assert first.due == datetime(2026, 12, 30, 17, tzinfo=LONDON) and not first.ran_over
    assert (second.stage, second.extensions) == (2, 1)
    assert second.due == datetime(2026, 12, 23, 17, tzinfo=LONDON) and second.ran_over
    assert (third.stage, third.left) == (3, at(7, 12, 1, 2027))
    # Stage 3 has two phases: 5 working days for the heads of service, then 2 for directors.
    assert third.due == datetime(2027, 1, 15, 17, tzinfo=LONDON) and not third.ran_over


def test_an_open_case_is_still_at_its_last_stage():
    case, _ = ENGINE.open_case(referral(), "BSCP-2026-0002", OPENED)
    [visit] = _visits(case)
    assert visit.left is None and not visit.ran_over


def test_the_deadline_the_engine_set_is_the_one_the_visit_reports():
    case, _ = ENGINE.open_case(referral(), "BSCP-2026-0003", OPENED)
    ENGINE.move_to_stage(case, 2, at(15), BUSINESS_MANAGER.email)
    assert _visits(case)[-1].due == case.deadline


def test_timescales_read_as_the_policy_gives_them():
    assert timescale_words(POLICY, 1) == "10 working days"
    assert timescale_words(POLICY, 3) == "5 working days, then 2 working days"
    assert timescale_words(POLICY, 9) == "not in the policy"
    assert timescale_end(POLICY, ENGINE.calendar, 9, OPENED) is None
