"""Shared set-up for the policy and engine unit tests: an engine per shipped policy, a sample
referral, London wall-clock moments, and ways to pick notices apart.

The engines use the real policy files and the real bank holidays (``calendar_for``), so a
policy test shows the shipped data and the engine working together.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import date, datetime

from mailbot.adapters.policy_files import calendar_for, load_policy
from mailbot.domain.case import Case, EventKind
from mailbot.domain.engine import CaseEngine
from mailbot.domain.notices import Notice, Partnership, Template
from mailbot.domain.referral import AgencyType, Person, Referral
from mailbot.domain.working_days import LONDON

BUSINESS_MANAGER = Person("Bea Manager", "business.manager@partnership.example")
REFERRER = Person("Riya Referrer", "riya.referrer@school.example")
OTHER_WORKER = Person("Omar Other", "omar.other@council.example")
REFERRER_DSL = Person("Dee Lead", "dee.lead@school.example")


def london(year: int, month: int, day: int, hour: int = 10, minute: int = 0) -> datetime:
    """A wall-clock moment in London (BST or GMT as the date says)."""
    return datetime(year, month, day, hour, minute, tzinfo=LONDON)


def person(role: str) -> Person:
    """A distinct person for a role: ``head_teacher`` -> head.teacher@agency.example."""
    return Person(role.replace("_", " ").title(), f"{role.replace('_', '.')}@agency.example")


def engine_for(name: str, contacts: Iterable[str] = ()) -> CaseEngine:
    """A CaseEngine for a shipped policy; ``contacts`` names partnership-level roles to fill."""
    policy = load_policy(name)
    partnership = Partnership(
        address=f"{name}@partnership.example",
        business_managers=(BUSINESS_MANAGER,),
        contacts={role: (person(role),) for role in contacts},
    )
    return CaseEngine(policy, calendar_for(policy), partnership)


def sample_referral(**changes) -> Referral:
    """A complete, made-up Request for Resolution; keyword arguments replace fields."""
    referral = Referral(
        child_name="Child A",
        child_dob=date(2015, 6, 1),
        referrer_name=REFERRER.name,
        referrer_email=REFERRER.email,
        referrer_role="Class teacher",
        referrer_agency="Example Primary School",
        referrer_agency_type=AgencyType.HEALTH,
        safeguarding_lead_aware=True,
        safeguarding_lead_name=REFERRER_DSL.name,
        safeguarding_lead_email=REFERRER_DSL.email,
        other_agency="Children's Services",
        other_agency_contact_name=OTHER_WORKER.name,
        other_agency_contact_email=OTHER_WORKER.email,
        other_agency_type=AgencyType.POLICE,
        summary="The agencies disagree about the level of need.",
        desired_outcome="A strategy discussion.",
        # The ladder tests start at the bottom; a referral that states no stage opens at the
        # policy's entry stage (tests of that pass stage_reached=None).
        stage_reached=1,
    )
    return replace(referral, **changes)


def open_case(engine: CaseEngine, now: datetime, reference: str = "",
              **changes) -> tuple[Case, list[Notice]]:
    reference = reference or f"{engine.policy.reference_prefix}-{now.year}-0001"
    return engine.open_case(sample_referral(**changes), reference, now, "<form@example>")


def climb_to(engine: CaseEngine, case: Case, number: int, now: datetime) -> list[Notice]:
    """Escalate one stage at a time until the case reaches stage ``number``."""
    notices: list[Notice] = []
    while case.stage < number:
        notices = engine.escalate(case, now, BUSINESS_MANAGER.email)
    assert case.stage == number
    return notices


def emails(notices: Iterable[Notice]) -> set[str]:
    return {p.email for notice in notices for p in notice.to}


def stage_notices(notices: Iterable[Notice]) -> list[Notice]:
    """Stage notices to the stage's own people (not the policy's extra notification rules)."""
    return [n for n in notices
            if n.template == Template.STAGE_NOTICE and "rule_roles" not in n.context]


def rule_notices(notices: Iterable[Notice]) -> list[Notice]:
    """Notices a policy's ``notify`` rules asked for."""
    return [n for n in notices if "rule_roles" in n.context]


def events(case: Case, kind: EventKind) -> list:
    return [event for event in case.history if event.kind is kind]


def roles_now(engine: CaseEngine, case: Case) -> set[str]:
    return set(engine.policy.roles_at(case.stage, case.facts, case.phase))


def render_notice(engine: CaseEngine, notice: Notice, case: Case, recipient=None):
    """A notice as its recipient reads it: the real templates, text and HTML."""
    from pathlib import Path

    from mailbot.adapters.jinja_renderer import DEFAULT_TEMPLATE_DIR, JinjaRenderer

    renderer = JinjaRenderer([DEFAULT_TEMPLATE_DIR], Path("/nonexistent"))
    return renderer.render(notice, case=case, policy=engine.policy,
                           partnership_name=engine.policy.name,
                           recipient=recipient or notice.to[0])


def of_template(notices: Iterable[Notice], template: str) -> list[Notice]:
    return [n for n in notices if n.template == template]
