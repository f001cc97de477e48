"""Properties of the domain that must hold for any input (hypothesis): deadlines land on
working days, working-day arithmetic is monotonic, a case has exactly one current stage, and
its history only ever grows."""

from __future__ import annotations

import copy
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import holidays
from hypothesis import given, settings
from hypothesis import strategies as st
from policy_helpers import BUSINESS_MANAGER, engine_for, sample_referral

from mailbot.domain.case import EventKind
from mailbot.domain.errors import CaseRuleRefused
from mailbot.domain.policy import TimeUnit
from mailbot.domain.referral import AgencyType, Person
from mailbot.domain.working_days import LONDON

ENGINES = {name: engine_for(name, contacts=["icsc", "board_chair", "lsscp"])
           for name in ("berkshire", "birmingham", "bromley", "bury", "hackney")}
CALENDAR = ENGINES["bury"].calendar
# An independent oracle: the holidays package asked directly, not through our calendar.
ENGLAND = holidays.country_holidays("GB", subdiv="ENG", years=range(2020, 2042))
ENTERING = (EventKind.CASE_OPENED, EventKind.ESCALATED, EventKind.MOVED_TO_STAGE)

days = st.dates(min_value=date(2020, 1, 1), max_value=date(2039, 12, 31))
moments = st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2039, 12, 31),
                       timezones=st.just(LONDON))


def is_england_working_day(day: date) -> bool:
    return day.weekday() < 5 and day not in ENGLAND


@given(moments, st.integers(min_value=0, max_value=60))
def test_a_working_day_deadline_never_falls_on_a_weekend_or_bank_holiday(event, n):
    deadline = CALENDAR.deadline_in_working_days(event, n)
    assert is_england_working_day(deadline.date())
    assert deadline.time().isoformat() == "17:00:00"
    if n >= 1:
        assert deadline > event


@given(moments, st.integers(min_value=1, max_value=60))
def test_working_hours_deadlines_fall_inside_working_hours(event, hours):
    deadline = CALENDAR.deadline_in_working_hours(event, hours)
    assert is_england_working_day(deadline.date())
    assert CALENDAR.opening_time < deadline.time() <= CALENDAR.close_of_business
    assert deadline > event


@given(moments, st.integers(min_value=1, max_value=200))
def test_clock_hours_are_exactly_that_many_elapsed_hours(event, hours):
    deadline = CALENDAR.deadline_in_clock_hours(event, hours)
    utc = ZoneInfo("UTC")
    assert deadline.astimezone(utc) - event.astimezone(utc) == timedelta(hours=hours)


@given(days, st.integers(min_value=0, max_value=40), st.integers(min_value=0, max_value=40))
def test_adding_more_working_days_never_gives_an_earlier_day(day, n, extra):
    assert CALENDAR.add_working_days(day, n) <= CALENDAR.add_working_days(day, n + extra)
    if n >= 1 and extra >= 1:
        assert CALENDAR.add_working_days(day, n) < CALENDAR.add_working_days(day, n + extra)


@given(days, st.integers(min_value=0, max_value=30), st.integers(min_value=0, max_value=30))
def test_a_later_start_never_gives_an_earlier_day(day, later_by, n):
    later = day + timedelta(days=later_by)
    assert CALENDAR.add_working_days(day, n) <= CALENDAR.add_working_days(later, n)


@given(days, st.integers(min_value=1, max_value=40))
def test_working_days_between_undoes_adding_working_days(day, n):
    assert CALENDAR.working_days_between(day, CALENDAR.add_working_days(day, n)) == n


# --- random command sequences through the engine -----------------------------------------

agency = st.sampled_from(list(AgencyType))
operations = st.one_of(
    st.tuples(st.just("escalate")),
    st.tuples(st.just("stage"), st.integers(min_value=0, max_value=6)),
    st.tuples(st.just("extend"), st.integers(min_value=-1, max_value=70)),
    st.tuples(st.just("assign"), st.sampled_from(["line_manager", "director", "iro", "cp_chair",
                                                  "head_of_service", "nonsense"])),
    st.tuples(st.just("resolve"), st.sampled_from(["Agreed.", " "])),
    st.tuples(st.just("decide"), st.sampled_from(["Decided.", ""])),
    st.tuples(st.just("withdraw"), st.sampled_from(["Error.", ""])),
    st.tuples(st.just("note")),
    st.tuples(st.just("chase")),
)


def apply(engine, case, op, now):
    actor = BUSINESS_MANAGER.email
    match op:
        case ("escalate",):
            engine.escalate(case, now, actor)
        case ("stage", number):
            engine.move_to_stage(case, number, now, actor)
        case ("extend", n):
            engine.extend(case, n, now, actor)
        case ("assign", role):
            engine.assign(case, role, Person(role, f"{role}@agency.example"), now, actor)
        case ("resolve", text):
            engine.record_outcome(case, text, now, actor)
        case ("decide", text):
            engine.record_decision(case, text, now, actor)
        case ("withdraw", text):
            engine.withdraw(case, text, now, actor)
        case ("note",):
            engine.add_note(case, "A note.", now, actor)
        case ("chase",):
            engine.chase(case, now)


def check_one_current_stage(engine, case):
    numbers = [stage.number for stage in engine.policy.stages]
    assert numbers.count(case.stage) == 1
    entered = [event.stage for event in case.history if event.kind in ENTERING]
    assert entered and entered[-1] == case.stage
    assert 0 <= case.phase < len(engine.policy.stage(case.stage).phases)
    assert case.deadline is not None
    assert case.is_open == (case.closed_at is None)


@settings(max_examples=150, deadline=None)
@given(
    name=st.sampled_from(sorted(ENGINES)),
    start=st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2030, 12, 31),
                       timezones=st.just(LONDON)),
    stage_reached=st.one_of(st.none(), st.integers(min_value=1, max_value=5)),
    agencies=st.tuples(agency, agency),
    cp_plan=st.booleans(),
    steps=st.lists(st.tuples(operations, st.integers(min_value=0, max_value=120)), max_size=25),
)
def test_random_command_sequences_keep_one_stage_and_an_append_only_history(
        name, start, stage_reached, agencies, cp_plan, steps):
    engine = ENGINES[name]
    referral = sample_referral(stage_reached=stage_reached, referrer_agency_type=agencies[0],
                               other_agency_type=agencies[1], child_protection_plan=cp_plan)
    case, _ = engine.open_case(referral, "REF-2026-0001", start)
    now = start
    check_one_current_stage(engine, case)
    for op, hours in steps:
        now += timedelta(hours=hours)
        before = list(case.history)
        snapshot = copy.deepcopy(case)
        try:
            apply(engine, case, op, now)
        except CaseRuleRefused as refusal:
            assert refusal.reason
            # A refused change leaves the case exactly as it was.
            assert case == snapshot
        assert case.history[:len(before)] == before
        check_one_current_stage(engine, case)


@settings(max_examples=60, deadline=None)
@given(name=st.sampled_from(sorted(ENGINES)),
       start=st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2030, 12, 31),
                          timezones=st.just(LONDON)),
       gaps=st.lists(st.integers(min_value=1, max_value=72), min_size=1, max_size=30))
def test_chasers_land_on_working_days_and_never_repeat_whenever_the_pass_runs(name, start, gaps):
    engine = ENGINES[name]
    case, _ = engine.open_case(sample_referral(), "REF-2026-0002", start)
    now, keys = start, []
    for gap in gaps:
        now += timedelta(hours=gap)
        for notice in engine.chase(case, now):
            keys.append((notice.template, notice.key, case.stage, case.phase))
    chased = [e for e in case.history
              if e.kind in (EventKind.REMINDER_SENT, EventKind.DUE_TODAY_SENT,
                            EventKind.DEADLINE_MISSED)]
    assert all(is_england_working_day(event.at.date()) for event in chased)
    assert len(keys) == len(set(keys))


def test_the_policies_use_every_kind_of_timescale_the_properties_cover():
    units = {phase.unit for engine in ENGINES.values()
             for stage in engine.policy.stages for phase in stage.phases}
    assert {TimeUnit.WORKING_DAYS, TimeUnit.CLOCK_HOURS} <= units
