"""A known caseload for the thematic report: 250 cases across all five policies, made by the
real CaseEngine over a year and a bit, with what each table should count worked out here
from the cases themselves, independently of the report's code.

Case i follows a plan read off i: its partnership (i % 5), category ((i // 5) % 5, one of
them rare so that a cell falls under 5), agency types, whether its first stage ran long
(30 days, past every policy's timescale) or short (2 hours), and how it ended (i % 6):
resolved at its first stage, resolved at the next, decided at the last, withdrawn, moved on
and still open, or still open where it began.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from mailbot.adapters.policy_files import calendar_for, load_policy
from mailbot.domain.case import Case, CaseStatus, EventKind
from mailbot.domain.engine import CaseEngine
from mailbot.domain.notices import Partnership
from mailbot.domain.referral import AgencyType, Person, Referral
from mailbot.domain.reporting import CHASER_ROWS, Period
from mailbot.domain.working_days import LONDON

POLICIES = ("berkshire", "birmingham", "bromley", "bury", "hackney")
CATEGORIES = ("Roles and responsibilities", "Levels of need", "Need for action", "Communication", "")
AGENCIES = (AgencyType.SCHOOL, AgencyType.HEALTH, AgencyType.POLICE,
            AgencyType.CHILDRENS_SOCIAL_CARE)
MANAGER = Person("Bea Manager", "bm@partnership.example")
FIRST = datetime(2025, 12, 1, 10, tzinfo=LONDON)
PERIOD = Period(datetime(2026, 1, 1, tzinfo=LONDON), datetime(2027, 1, 1, tzinfo=LONDON))
COUNT = 250
RARE = "Threshold for a strategy meeting"  # given to exactly 3 cases opened in the period


def child_name(i: int) -> str:
    return f"Kit{chr(97 + i % 26)}{chr(97 + i // 26 % 26)}ly Zorbington{i}"


def child_dob(i: int) -> date:
    return date(2012, 1, 1) + timedelta(days=37 * i)


def engines() -> dict[str, CaseEngine]:
    made = {}
    for key in POLICIES:
        policy = load_policy(key)
        made[key] = CaseEngine(policy, calendar_for(policy), Partnership(f"{key}@x.example", (MANAGER,)))
    return made


@dataclass
class Expected:
    opened: Counter[str] = field(default_factory=Counter)  # by policy key
    closed: Counter[str] = field(default_factory=Counter)
    withdrawn: Counter[str] = field(default_factory=Counter)
    categories: Counter[str] = field(default_factory=Counter)
    pairs: Counter[tuple[AgencyType, AgencyType]] = field(default_factory=Counter)
    resolved_at: Counter[tuple[str, int, CaseStatus]] = field(default_factory=Counter)
    outcomes: Counter[CaseStatus] = field(default_factory=Counter)
    chasers: Counter[EventKind] = field(default_factory=Counter)
    stages_ended: int = 0
    ran_over: int = 0


def build_cases() -> tuple[list[Case], Expected]:
    made, expected = engines(), Expected()
    cases = [_case(i, made[POLICIES[i % 5]], expected) for i in range(COUNT)]
    for case in cases:
        _expect(case, expected)
    return cases, expected


def _referral(i: int, opened: datetime) -> Referral:
    category = CATEGORIES[(i // 5) % 5]
    return Referral(
        child_name=child_name(i), child_dob=child_dob(i), referrer_name=f"Ref Erer{i}",
        referrer_email=f"referrer{i}@school.example", summary=f"Summary about {child_name(i)}.",
        referrer_agency_type=AGENCIES[i % 4], other_agency_type=AGENCIES[(i // 4) % 4],
        other_agency_contact_email=f"other{i}@agency.example",
        disagreement_category=RARE if i in (31, 97, 163) else category, stage_reached=1,
        date_of_notification=opened.date())


def _case(i: int, engine: CaseEngine, expected: Expected) -> Case:
    opened = FIRST + timedelta(hours=34 * i)  # 250 cases over about 354 days
    case, _ = engine.open_case(_referral(i, opened), f"{engine.policy.reference_prefix}-2026-{i:04d}",
                               opened)
    limit = engine.policy.stage_limit
    if i % 8 == 0 and not (limit and limit.binding):  # Bury's ten days cannot be extended
        engine.extend(case, 2, opened + timedelta(minutes=30), MANAGER.email, "agreed")
    slow = i % 4 == 0
    left = opened + (timedelta(days=30) if slow else timedelta(hours=2))
    if slow:
        engine.chase(case, left - timedelta(hours=1))  # the latest chaser due by then
    ending = i % 6
    if ending == 0:
        engine.record_outcome(case, f"Agreed for {child_name(i)}.", left, MANAGER.email)
    elif ending in (1, 4):
        engine.escalate(case, left, MANAGER.email)
        if ending == 1:
            engine.record_outcome(case, "Agreed.", left + timedelta(hours=2), MANAGER.email)
    elif ending == 2:
        engine.move_to_stage(case, engine.policy.last_stage.number, left, MANAGER.email)
        engine.record_decision(case, "Decided.", left + timedelta(hours=2), MANAGER.email)
    elif ending == 3:
        engine.withdraw(case, "Raised in error.", left, MANAGER.email)
    if ending != 5 and left in PERIOD:
        expected.stages_ended += 1
        expected.ran_over += slow
    if ending in (1, 2) and left + timedelta(hours=2) in PERIOD:
        expected.stages_ended += 1  # the short second stage, never over
    return case


def _expect(case: Case, expected: Expected) -> None:
    key = case.policy_key
    if case.opened_at in PERIOD:
        expected.opened[key] += 1
        expected.categories[case.referral.disagreement_category or "Not given"] += 1
        expected.pairs[(case.referral.referrer_agency_type, case.referral.other_agency_type)] += 1
    if case.closed_at in PERIOD:
        if case.status is CaseStatus.WITHDRAWN:
            expected.withdrawn[key] += 1
        else:
            expected.closed[key] += 1
            expected.resolved_at[(key, case.stage, case.status)] += 1
        expected.outcomes[case.status] += 1
    kinds = {kind for kind, _ in CHASER_ROWS}
    expected.chasers.update(e.kind for e in case.history if e.kind in kinds and e.at in PERIOD)
