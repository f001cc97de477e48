"""Finding 3 of issue 13: Birmingham's "between two schools" short cut from Stage One to
Stage Five applies only when every agency's type is known and fits; otherwise the case goes
the ordinary way and the business managers are asked for the missing type."""

from __future__ import annotations

import pytest
from policy_helpers import (
    BUSINESS_MANAGER,
    engine_for,
    events,
    london,
    of_template,
    open_case,
    render_notice,
)

from mailbot.domain.case import EventKind
from mailbot.domain.notices import Template
from mailbot.domain.policy import CaseFacts, Condition
from mailbot.domain.referral import AgencyType

BM = BUSINESS_MANAGER.email
SCHOOL, CSC = AgencyType.SCHOOL, AgencyType.CHILDRENS_SOCIAL_CARE
SELF = AgencyType.SELF_EMPLOYED


@pytest.fixture
def engine():
    return engine_for("birmingham", contacts=["board_chair"])


def test_a_school_against_an_agency_of_unknown_type_climbs_to_stage_2_not_5(engine):
    case, _ = open_case(engine, london(2026, 5, 18), referrer_agency_type=SCHOOL,
                        other_agency="Birmingham Children's Trust", other_agency_type=None)
    engine.escalate(case, london(2026, 5, 19), BM)
    assert case.stage == 2
    text = events(case, EventKind.ESCALATED)[0].text
    assert "does not say what type of agency the other agency is" in text


def test_the_business_managers_are_asked_for_the_missing_type_when_the_case_opens(engine):
    case, notices = open_case(engine, london(2026, 5, 18), referrer_agency_type=SCHOOL,
                              other_agency_type=None)
    [new_case] = of_template(notices, Template.NEW_CASE)
    [question] = new_case.context["routing_questions"]
    assert "the other agency" in question and "STAGE 5" in question
    text = render_notice(engine, new_case, case, BUSINESS_MANAGER).text
    assert "PLEASE CHECK THE ROUTE" in text and "between two schools" in text


@pytest.mark.parametrize("types", [(SCHOOL, SCHOOL), (SELF, SCHOOL), (SCHOOL, SELF)])
def test_two_known_schools_or_a_school_and_a_self_employed_professional_go_to_stage_5(engine, types):
    case, notices = open_case(engine, london(2026, 5, 18), referrer_agency_type=types[0],
                              other_agency_type=types[1])
    assert of_template(notices, Template.NEW_CASE)[0].context["routing_questions"] == []
    engine.escalate(case, london(2026, 5, 19), BM)
    assert case.stage == 5


def test_a_known_agency_that_does_not_fit_is_no_question(engine):
    _, notices = open_case(engine, london(2026, 5, 18), referrer_agency_type=CSC,
                           other_agency_type=None)
    assert of_template(notices, Template.NEW_CASE)[0].context["routing_questions"] == []


def test_every_agency_must_be_known_for_a_condition_on_every_agency():
    within = Condition(agency_types_within=frozenset({SCHOOL}))
    assert within.holds(CaseFacts(frozenset({SCHOOL})))
    assert not within.holds(CaseFacts(frozenset({SCHOOL}), agencies_of_unknown_type=("x",)))
    assert within.undecided(CaseFacts(frozenset({SCHOOL}), agencies_of_unknown_type=("x",)))
