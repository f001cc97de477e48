"""Retention, as pure logic: an anonymised case keeps exactly what the thematic report reads
and none of the personal data; the period is counted in whole years from closing."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta

import pytest
from case_strategies import closed_cases, engine_for, outline_of, personal_values, referrals
from hypothesis import given, settings
from hypothesis import strategies as st
from rendering_cases import referral

from mailbot.domain.case import Case, EventKind
from mailbot.domain.referral import Referral
from mailbot.domain.retention import (
    KEPT_CASE_FIELDS,
    KEPT_REFERRAL_FIELDS,
    anonymise,
    is_due,
    retention_ends,
)
from mailbot.domain.stage_visits import stage_visits
from mailbot.domain.working_days import LONDON

LATER = datetime(2033, 6, 1, 2, tzinfo=LONDON)


@settings(max_examples=60, deadline=None)
@given(closed_cases())
def test_an_anonymised_case_keeps_what_the_report_reads_and_nothing_personal(case):
    after = anonymise(case, LATER, 6)
    outline = outline_of(after)
    assert dataclasses.replace(outline, events=outline.events[:-1]) == outline_of(case)
    engine = engine_for(case.policy_key)
    events = [(e.at, e.kind, e.stage) for e in after.history]
    assert stage_visits(events, engine.policy, engine.calendar) == stage_visits(
        [(e.at, e.kind, e.stage) for e in case.history], engine.policy, engine.calendar)
    dump = repr(after)
    leaked = [value for value in personal_values(case) if value in dump]
    assert leaked == []


@settings(max_examples=60, deadline=None)
@given(referrals())
def test_only_the_kept_answers_of_the_form_survive(referral):
    engine = engine_for("bury")
    case, _ = engine.open_case(referral, "BSCP-2026-0001", LATER - timedelta(days=3000))
    engine.withdraw(case, "raised in error", LATER - timedelta(days=2999), "bm@bury.example")
    kept = anonymise(case, LATER, 6).referral
    empty = Referral(child_name="", referrer_name="", referrer_email="", summary="")
    for field in dataclasses.fields(Referral):
        expected = getattr(referral if field.name in KEPT_REFERRAL_FIELDS else empty, field.name)
        assert getattr(kept, field.name) == expected, field.name


def test_the_anonymisation_is_recorded_as_an_event_and_on_the_case():
    engine = engine_for("bury")
    case, _ = engine.open_case(referral(), "BSCP-2026-0002",
                               datetime(2026, 3, 2, 10, tzinfo=LONDON))
    engine.withdraw(case, "raised in error", datetime(2026, 3, 3, 10, tzinfo=LONDON), "bm@x.example")
    after = anonymise(case, LATER, 6)
    assert after.anonymised_at == LATER and after.parties == {} and after.outcome == ""
    last = after.history[-1]
    assert (last.kind, last.actor, last.at) == (EventKind.CASE_ANONYMISED, "mailbot", LATER)
    assert "closed on 3 March 2026" in last.text and "6 years" in last.text
    assert all(e.text == "" for e in after.history[:-1])
    assert case.history[0].text  # the case given is left as it was


def test_every_case_field_not_kept_goes_back_to_its_default():
    engine = engine_for("hackney")
    case, _ = engine.open_case(referral(), "CHSCP-2026-0004", datetime(2026, 3, 2, 10, tzinfo=LONDON))
    engine.record_outcome(case, "Agreed.", datetime(2026, 3, 3, 10, tzinfo=LONDON), "bm@x.example")
    after = anonymise(case, LATER, 6)
    fresh = Case(reference="", policy_key="", referral=referral(), opened_at=LATER, stage=1,
                 stage_entered_at=LATER, deadline=None)
    assert {f.name for f in dataclasses.fields(Case)} >= KEPT_CASE_FIELDS
    for field in dataclasses.fields(Case):
        if field.name in KEPT_CASE_FIELDS:
            assert getattr(after, field.name) == getattr(case, field.name), field.name
        elif field.name not in ("referral", "history", "anonymised_at"):
            assert getattr(after, field.name) == getattr(fresh, field.name), field.name


def test_an_open_case_cannot_be_anonymised():
    case, _ = engine_for("bury").open_case(referral(), "BSCP-2026-0003", LATER)
    with pytest.raises(ValueError, match="open"):
        anonymise(case, LATER, 6)


@given(st.integers(1, 30))
def test_the_period_runs_whole_years_from_closing(years):
    closed = datetime(2026, 5, 20, 15, 30, tzinfo=LONDON)
    ends = retention_ends(closed, years)
    assert (ends.year, ends.month, ends.day, ends.hour) == (2026 + years, 5, 20, 15)
    assert not is_due(closed, years, ends - timedelta(seconds=1)) and is_due(closed, years, ends)
    assert not is_due(None, years, LATER)


def test_a_case_closed_on_29_february_is_due_on_28_february():
    closed = datetime(2028, 2, 29, 12, tzinfo=LONDON)
    assert retention_ends(closed, 6) == datetime(2034, 2, 28, 12, tzinfo=LONDON)
