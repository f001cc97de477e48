"""The case engine's generic behaviour: deadlines moved, people named, cases withdrawn, and
the deadline pass (reminder, day-of and overdue notices) under Bury's policy."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import pytest
from policy_helpers import (
    BUSINESS_MANAGER,
    REFERRER,
    emails,
    engine_for,
    events,
    london,
    open_case,
    person,
    stage_notices,
)

from mailbot.domain.case import CaseStatus, EventKind
from mailbot.domain.errors import CaseRuleRefused
from mailbot.domain.notices import Attachment, Template
from mailbot.domain.referral import Person

BM = BUSINESS_MANAGER.email
CHASERS = (Template.REMINDER, Template.DUE_TODAY, Template.OVERDUE)


@pytest.fixture
def engine():
    return engine_for("bury")


def run_passes(engine, case, start: datetime, days: int, hours=(8, 9, 13, 17, 22)):
    """The deadline pass run several times a day for ``days`` days: (moment, notice) pairs."""
    sent = []
    for offset in range(days):
        day = (start + timedelta(days=offset)).date()
        for hour in hours:
            now = datetime.combine(day, time(hour), tzinfo=start.tzinfo)
            sent += [(now, notice) for notice in engine.chase(case, now)]
    return sent


# --- opening -----------------------------------------------------------------------------

def test_opening_acknowledges_the_referrer_and_tells_the_business_managers(engine):
    case, notices = open_case(engine, london(2026, 3, 2))
    ack = next(n for n in notices if n.template == Template.ACKNOWLEDGEMENT)
    assert ack.to == (REFERRER,) and ack.in_reply_to == "<form@example>"
    new = next(n for n in notices if n.template == Template.NEW_CASE)
    assert emails([new]) == {BM}
    assert new.context["deadline"] == london(2026, 3, 16, 17).isoformat()
    assert case.reference == "BSCP-2026-0001" and case.status is CaseStatus.OPEN


def test_an_unknown_stage_reached_opens_at_the_policys_entry_stage(engine):
    # Bury sends referrals to the partnership at Level 4 (was: opened at Level 1).
    case, _ = open_case(engine, london(2026, 3, 2), stage_reached=9)
    assert case.stage == engine.policy.entry.stage == 4


# --- moving ------------------------------------------------------------------------------

def test_a_stage_change_is_copied_to_the_business_managers(engine):
    case, _ = open_case(engine, london(2026, 3, 2))
    notices = engine.escalate(case, london(2026, 3, 3), "bm@x", "no agreement")
    change = next(n for n in notices if n.template == Template.STAGE_CHANGE)
    assert emails([change]) == {BM} and change.context["from_stage"] == 1
    assert events(case, EventKind.ESCALATED)[0].text.endswith("Reason: no agreement")


def test_moving_to_a_stage_the_policy_lacks_is_refused_with_the_stages_it_has(engine):
    case, _ = open_case(engine, london(2026, 3, 2))
    with pytest.raises(CaseRuleRefused, match="no Level 7; its levels are 1, 2, 3, 4"):
        engine.move_to_stage(case, 7, london(2026, 3, 3), BM)


def test_moving_to_the_current_stage_is_refused(engine):
    case, _ = open_case(engine, london(2026, 3, 2))
    with pytest.raises(CaseRuleRefused, match="already at Level 1"):
        engine.move_to_stage(case, 1, london(2026, 3, 3), BM)


def test_a_case_can_be_moved_back_down_the_ladder(engine):
    case, _ = open_case(engine, london(2026, 3, 2), stage_reached=3)
    engine.move_to_stage(case, 2, london(2026, 3, 3), BM, "wrong level")
    assert case.stage == 2 and case.deadline == london(2026, 3, 10, 17)


# --- extend ------------------------------------------------------------------------------

def test_extend_moves_the_deadline_that_many_working_days_later(engine):
    # Level 2 (a week), so that the extension stays within Bury's ten-day limit.
    case, _ = open_case(engine, london(2026, 12, 21), stage_reached=2)   # five days: 30 Dec
    assert case.deadline == london(2026, 12, 30, 17)
    notices = engine.extend(case, 2, london(2026, 12, 21), BM, "awaiting a meeting")
    assert case.deadline == london(2027, 1, 4, 17)             # 31 Dec, then past New Year
    text = events(case, EventKind.DEADLINE_EXTENDED)[0].text
    assert "30 December 2026 17:00" in text and "04 January 2027 17:00" in text
    assert Attachment.STAGE_DEADLINE_ICS in notices[0].attachments
    assert BM in emails(notices)


@pytest.mark.parametrize("days", [0, 61])
def test_extend_outside_one_to_sixty_working_days_is_refused(engine, days):
    case, _ = open_case(engine, london(2026, 3, 2))
    before = case.deadline
    with pytest.raises(CaseRuleRefused, match="1 to 60"):
        engine.extend(case, days, london(2026, 3, 3), BM)
    assert case.deadline == before


def test_extend_restarts_the_chasers_for_the_new_deadline(engine):
    case, _ = open_case(engine, london(2026, 3, 2), stage_reached=2)
    engine.chase(case, london(2026, 3, 6, 9))                  # the reminder for 9 March
    engine.extend(case, 5, london(2026, 3, 6, 10), BM)
    assert case.chase_points_passed == 0
    assert case.next_chase_at == london(2026, 3, 13, 9)        # reminder for 16 March


# --- assign ------------------------------------------------------------------------------

def test_assigning_a_role_that_acts_now_sends_that_person_the_stage_notice(engine):
    case, _ = open_case(engine, london(2026, 3, 2), stage_reached=2)
    notices = engine.assign(case, "line_manager", person("line_manager"), london(2026, 3, 2), BM)
    assert [n.template for n in notices] == [Template.STAGE_NOTICE]
    assert emails(notices) == {"line.manager@agency.example"}
    assert case.people_in("line_manager") == (person("line_manager"),)


def test_assigning_a_role_for_a_later_stage_only_records_it(engine):
    case, _ = open_case(engine, london(2026, 3, 2))
    assert engine.assign(case, "director", person("director"), london(2026, 3, 2), BM) == []
    assert "named as Director / Assistant Director" in case.history[-1].text


def test_a_role_may_hold_both_agencies_people(engine):
    case, _ = open_case(engine, london(2026, 3, 2))
    engine.assign(case, "line_manager", Person("A", "a@one.example"), london(2026, 3, 2), BM)
    engine.assign(case, "line_manager", Person("B", "b@two.example"), london(2026, 3, 2), BM)
    assert len(case.people_in("line_manager")) == 2


def test_assigning_the_same_person_twice_is_refused(engine):
    case, _ = open_case(engine, london(2026, 3, 2))
    engine.assign(case, "line_manager", Person("A", "a@one.example"), london(2026, 3, 2), BM)
    with pytest.raises(CaseRuleRefused, match="already holds"):
        engine.assign(case, "line_manager", Person("A", "A@One.Example"), london(2026, 3, 2), BM)


def test_assigning_a_role_the_policy_lacks_is_refused_with_its_roles(engine):
    case, _ = open_case(engine, london(2026, 3, 2))
    with pytest.raises(CaseRuleRefused, match="no role 'iro'.*line_manager"):
        engine.assign(case, "iro", person("iro"), london(2026, 3, 2), BM)


# --- withdraw, notes ---------------------------------------------------------------------

def test_withdrawing_closes_the_case_and_tells_everyone(engine):
    case, _ = open_case(engine, london(2026, 3, 2))
    notices = engine.withdraw(case, "Raised in error.", london(2026, 3, 3), BM)
    assert case.status is CaseStatus.WITHDRAWN and case.closed_at == london(2026, 3, 3)
    assert case.next_chase_at is None
    assert {REFERRER.email, "omar.other@council.example", BM} <= emails(notices)
    assert engine.chase(case, london(2026, 3, 20, 9)) == []


def test_withdrawing_needs_a_reason(engine):
    case, _ = open_case(engine, london(2026, 3, 2))
    with pytest.raises(CaseRuleRefused, match="reason"):
        engine.withdraw(case, "  ", london(2026, 3, 3), BM)
    assert case.is_open


def test_a_note_is_added_to_the_record_and_sends_nothing(engine):
    case, _ = open_case(engine, london(2026, 3, 2))
    assert engine.add_note(case, "Called the school.", london(2026, 3, 3), "a@b.example") == []
    assert case.history[-1].kind is EventKind.NOTE_ADDED


# --- the deadline pass -------------------------------------------------------------------

def test_a_stage_gets_a_reminder_a_day_of_notice_and_overdue_notices_in_that_order(engine):
    case, _ = open_case(engine, london(2026, 3, 2))             # due Monday 16 March 17:00
    sent = run_passes(engine, case, london(2026, 3, 2), 22)
    timeline = [(n.template, moment) for moment, n in sent]
    assert timeline[:4] == [
        (Template.REMINDER, london(2026, 3, 13, 9)),
        (Template.DUE_TODAY, london(2026, 3, 16, 9)),
        (Template.OVERDUE, london(2026, 3, 17, 9)),
        (Template.OVERDUE, london(2026, 3, 19, 9)),             # every 2 working days
    ]


def test_chasers_never_fall_on_a_weekend_or_bank_holiday(engine):
    # A Bury level 2 week that ends on Christmas Eve 2026, chased through the New Year.
    case, _ = open_case(engine, london(2026, 12, 17), stage_reached=2)
    assert case.deadline == london(2026, 12, 24, 17)
    sent = run_passes(engine, case, london(2026, 12, 17), 25)
    assert len(sent) >= 5
    for moment, notice in sent:
        assert engine.calendar.is_working_day(moment.date()), (notice.template, moment)
    overdue = [m.date().isoformat() for m, n in sent if n.template == Template.OVERDUE]
    assert overdue[:3] == ["2026-12-29", "2026-12-31", "2027-01-05"]


def test_no_chaser_is_sent_twice_for_the_same_deadline(engine):
    case, _ = open_case(engine, london(2026, 3, 2))
    sent = run_passes(engine, case, london(2026, 3, 2), 30, hours=range(24))
    keys = [n.key for _, n in sent]
    assert len(keys) == len(set(keys))
    assert sum(1 for _, n in sent if n.template == Template.REMINDER) == 1
    assert sum(1 for _, n in sent if n.template == Template.DUE_TODAY) == 1


def test_a_worker_down_for_a_week_sends_one_overdue_notice_not_a_backlog(engine):
    case, _ = open_case(engine, london(2026, 3, 2))
    assert engine.chase(case, london(2026, 3, 13, 9))           # the reminder
    notices = engine.chase(case, london(2026, 3, 27, 12))       # back eleven days later
    assert [n.template for n in notices] == [Template.OVERDUE]
    assert engine.chase(case, london(2026, 3, 27, 12, 5)) == []
    assert len(events(case, EventKind.DEADLINE_MISSED)) == 1


def test_a_chaser_for_an_unassigned_role_goes_to_the_business_managers(engine):
    case, _ = open_case(engine, london(2026, 3, 2), stage_reached=3)   # nobody is head of service
    notices = engine.chase(case, london(2026, 3, 6, 9))                # reminder for 9 March
    assert [n.template for n in notices] == [Template.REMINDER]
    assert emails(notices) == {BM}
    assert notices[0].context["unassigned"] == ["Head of Service"]


def test_a_reminder_to_assigned_people_does_not_copy_the_business_managers(engine):
    case, _ = open_case(engine, london(2026, 3, 2))
    notices = engine.chase(case, london(2026, 3, 13, 9))
    assert emails(notices) == {REFERRER.email, "omar.other@council.example"}


def test_an_overdue_notice_copies_the_business_managers(engine):
    case, _ = open_case(engine, london(2026, 3, 2))
    notices = engine.chase(case, london(2026, 3, 17, 9))
    assert notices[0].template == Template.OVERDUE and BM in emails(notices)


def test_a_stage_notice_for_an_unassigned_role_asks_the_business_managers_to_assign(engine):
    case, notices = open_case(engine, london(2026, 3, 2), stage_reached=3)
    assert emails(stage_notices(notices)) == {BM}
    assert stage_notices(notices)[0].context["unassigned"] == ["Head of Service"]


def test_the_next_chase_moment_is_always_on_a_working_day(engine):
    case, _ = open_case(engine, london(2026, 12, 17), stage_reached=2)
    for _ in range(8):
        assert case.next_chase_at is not None
        assert engine.calendar.is_working_day(case.next_chase_at.date())
        engine.chase(case, case.next_chase_at)
