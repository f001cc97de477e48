"""Hypothesis strategies for closed cases that went through the real CaseEngine, with personal
data in every field a person can fill, for the retention properties (unit and store).

Every name, address and free text is a made-up word starting "Zq", which no text mailbot
writes itself contains, so finding one anywhere after anonymisation is a real leak.
"""

from __future__ import annotations

import contextlib
import dataclasses
import string
from datetime import UTC, date, datetime, timedelta

from hypothesis import strategies as st

from mailbot.adapters.policy_files import calendar_for, load_policy
from mailbot.domain.case import Case
from mailbot.domain.engine import CaseEngine
from mailbot.domain.errors import CaseRuleRefused
from mailbot.domain.notices import Partnership
from mailbot.domain.referral import AgencyType, Person, Referral
from mailbot.domain.reporting import CaseOutline
from mailbot.domain.retention import KEPT_REFERRAL_FIELDS
from mailbot.domain.working_days import LONDON

POLICIES = ("berkshire", "birmingham", "bromley", "bury", "hackney")
MANAGER = Person("Zqmanager Boss", "zqmanager@partnership.example")
START = datetime(2026, 1, 5, 10, tzinfo=LONDON)

word = st.text(alphabet=string.ascii_lowercase, min_size=5, max_size=9).map(lambda s: "Zq" + s)
phrase = st.lists(word, min_size=1, max_size=4).map(" ".join)
address = st.tuples(word, word).map(lambda p: f"{p[0].lower()}@{p[1].lower()}.example")
agency = st.one_of(st.none(), st.sampled_from(list(AgencyType)))


@st.composite
def referrals(draw) -> Referral:
    return Referral(
        child_name=draw(phrase), referrer_name=draw(phrase), referrer_email=draw(address),
        summary=draw(phrase), child_dob=draw(st.dates(date(2008, 1, 1), date(2025, 12, 31))),
        date_of_notification=draw(st.dates(date(2026, 1, 1), date(2026, 1, 5))),
        referrer_role=draw(phrase), referrer_agency=draw(phrase), referrer_phone=draw(word),
        referrer_agency_type=draw(agency), safeguarding_lead_aware=draw(st.booleans()),
        safeguarding_lead_name=draw(phrase), safeguarding_lead_email=draw(address),
        other_agency=draw(phrase), other_agency_contact_name=draw(phrase),
        other_agency_contact_email=draw(address), other_agency_type=draw(agency),
        disagreement_category=draw(st.sampled_from(["Roles and responsibilities", "Threshold",
                                                    "Communication", ""])),
        child_protection_plan=draw(st.booleans()), looked_after=draw(st.booleans()),
        immediate_risk=draw(st.booleans()), stage_reached=1,
        earlier_stages_evidence=draw(phrase), desired_outcome=draw(phrase),
        extra=tuple(draw(st.lists(st.tuples(word, phrase), max_size=2))),
    )


def engine_for(policy_key: str) -> CaseEngine:
    policy = load_policy(policy_key)
    return CaseEngine(policy, calendar_for(policy), Partnership("bm@partnership.example", (MANAGER,)))


@st.composite
def closed_cases(draw, reference: str = "TEST-2026-0001") -> Case:
    """A case opened, moved about, chased, extended, noted, and closed one of three ways."""
    engine = engine_for(draw(st.sampled_from(POLICIES)))
    case, _ = engine.open_case(draw(referrals()), reference, START, f"<{draw(word)}@agency.example>")
    now = START
    for step in draw(st.lists(st.sampled_from(["escalate", "extend", "assign", "note", "chase",
                                               "letter"]), max_size=6)):
        now = _real_moment(now + timedelta(days=draw(st.integers(1, 20)), hours=draw(st.integers(0, 5))))
        _step(engine, case, step, now, draw)
    now = _real_moment(now + timedelta(days=1))
    ending = draw(st.sampled_from(["resolved", "decided", "withdrawn"]))
    if ending == "resolved":
        engine.record_outcome(case, draw(phrase), now, MANAGER.email, f"<{draw(word)}@bm.example>")
    elif ending == "withdrawn":
        engine.withdraw(case, draw(phrase), now, MANAGER.email)
    else:
        last = engine.policy.last_stage.number
        if case.stage != last:
            engine.move_to_stage(case, last, now, MANAGER.email, draw(phrase))
        engine.record_decision(case, draw(phrase), _real_moment(now + timedelta(hours=1)), MANAGER.email)
    return case


def _real_moment(moment: datetime) -> datetime:
    """``moment`` as a time London's clocks really showed. Adding days and hours to a London
    time is wall-clock arithmetic, which can land in the hour skipped in March (01:30 on the
    last Sunday); a clock never reads that, and it compares unequal to itself read back in UTC."""
    return moment.astimezone(UTC).astimezone(moment.tzinfo)


def _step(engine: CaseEngine, case: Case, step: str, now: datetime, draw) -> None:
    if step == "escalate" and engine.policy.next_stage(case.stage, case.facts) is not None:
        engine.escalate(case, now, MANAGER.email, draw(phrase))
    elif step == "extend":
        # Past the policy's stage limit (Bury's ten working days) it is refused, as in life.
        with contextlib.suppress(CaseRuleRefused):
            engine.extend(case, draw(st.integers(1, 10)), now, MANAGER.email, draw(phrase))
    elif step == "assign":
        role = draw(st.sampled_from(sorted(engine.policy.roles)))
        if not case.people_in(role):
            engine.assign(case, role, Person(draw(phrase), draw(address)), now, MANAGER.email)
    elif step == "note":
        engine.add_note(case, draw(phrase), now, draw(address))
    elif step == "letter":
        engine.file_correspondence(case, draw(phrase), now, draw(address), f"<{draw(word)}@x.example>")
    else:
        engine.chase(case, now)


def personal_values(case: Case) -> set[str]:
    """Every value a person wrote or that names someone: each must be gone after anonymising."""
    values: set[str] = set()
    for field in dataclasses.fields(Referral):
        if field.name in KEPT_REFERRAL_FIELDS:
            continue
        value = getattr(case.referral, field.name)
        if isinstance(value, str):
            values.add(value)
        elif isinstance(value, date):
            values |= {value.isoformat(), f"{value:%d/%m/%Y}"}
        elif field.name == "extra":
            values |= {text for pair in value for text in pair}
    values |= {text for people in case.parties.values() for p in people for text in (p.name, p.email)}
    values |= {case.outcome, case.decision}
    values |= {e.actor for e in case.history if e.actor != "mailbot"}
    values |= {e.source_message_id.strip("<>") for e in case.history if e.source_message_id}
    # Every made-up word, so that a word kept inside some longer text is caught as well.
    values |= {token for value in list(values) for token in value.replace("@", " ").split()
               if token.startswith("Zq") or token.startswith("zq")}
    return {v for v in values if v}


def outline_of(case: Case) -> CaseOutline:
    """What the store's report query gives for a case (``CaseRecords.outlines``), from the case."""
    r = case.referral
    return CaseOutline(case.reference, case.policy_key, case.status, case.opened_at,
                       case.closed_at, case.stage, r.disagreement_category,
                       r.referrer_agency_type, r.other_agency_type,
                       tuple((e.at, e.kind, e.stage) for e in case.history))
