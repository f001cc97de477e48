"""Retention against real SQLite and PostgreSQL: an anonymised case keeps exactly what the
thematic report reads and none of the personal data, in any column of any row, and the raw
emails of the case, in and out, are gone from the store."""

from __future__ import annotations

import dataclasses
import itertools
import sys
import zlib
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, update

from mailbot.adapters.jinja_renderer import JinjaRenderer
from mailbot.adapters.mail_composer import MailComposer
from mailbot.adapters.sqlalchemy_store.orm import (
    CaseEventRow,
    CaseRow,
    InboundMessageRow,
    OutboxMessageRow,
)
from mailbot.domain.case import Case, CaseStatus, EventKind
from mailbot.domain.retention import KEPT_REFERRAL_FIELDS
from mailbot.domain.working_days import LONDON
from mailbot.entrypoints.reports import show_case
from mailbot.services.context import MailboxContext, Services
from mailbot.services.records import cases_about_child
from mailbot.services.retention import RetentionPeriods, anonymise_expired, erase_unlinked_mail
from mailbot.services.stored import OutboxItem

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit"))
from case_strategies import POLICIES, closed_cases, engine_for, outline_of, personal_values  # noqa: E402
from rendering_cases import referral  # noqa: E402

pytest_plugins = ["tests.integration.db_fixtures"]
LATER = datetime(2040, 1, 2, 3, tzinfo=LONDON)  # past six years for every generated case
NUMBERS = itertools.count(1)


def services_for(uow_factory) -> Services:
    contexts = {}
    for key in POLICIES:
        engine = engine_for(key)
        contexts[key] = MailboxContext(key, f"{key}@partnership.example", engine.policy, engine)
    return Services(uow_factory=uow_factory, composer=MailComposer(JinjaRenderer()), mailboxes=contexts)


def store_with_mail(uow_factory, case: Case) -> None:
    """The case, the raw referral and reply it came from, and the mail it sent."""
    ref, r = case.reference, case.referral
    raw = (f"From: {r.referrer_name} <{r.referrer_email}>\r\nSubject: referral {ref}\r\n\r\n"
           f"Child: {r.child_name}\r\nSummary: {r.summary}\r\n").encode()
    with uow_factory() as uow:
        uow.cases.add(case)
        for uid, data in ((f"{ref}-1", raw), (f"{ref}-2", raw + b"reply\r\n")):
            record = uow.inbound.record("bury", 1, uid, f"{uid}@agency.example", data)
            uow.inbound.mark(record.id, "processed", ref)
        for n, status in enumerate(("sent", "queued")):
            uow.outbox.enqueue(OutboxItem(
                case_reference=ref, template="stage_notice", stage=1, key=f"assigned:{r.referrer_email}",
                recipient=f"{n}{r.referrer_email}", message_id=f"mailbot.{ref}.{n}@partnership.example",
                envelope_from="bsp@partnership.example",
                data=f"To: {r.referrer_email}\r\n\r\nAbout {r.child_name}".encode()))
            if status == "sent":
                [row] = uow.outbox.due(LATER, 1)
                uow.outbox.mark_sent(row.id, LATER - timedelta(days=4000))
        uow.commit()


def stored_text(uow_factory, reference: str) -> str:
    """Every value of every row the case has in the store, raw mail decompressed."""
    with uow_factory() as uow:
        s = uow.session
        case_row = s.scalars(select(CaseRow).where(CaseRow.reference == reference)).one()
        rows = [case_row, *s.scalars(select(CaseEventRow).where(CaseEventRow.case_id == case_row.id)),
                *s.scalars(select(InboundMessageRow).where(InboundMessageRow.case_reference == reference)),
                *s.scalars(select(OutboxMessageRow).where(OutboxMessageRow.case_reference == reference))]
        values = []
        for row in rows:
            for column in row.__table__.columns:
                value = getattr(row, column.key)
                if column.key == "raw":
                    value = zlib.decompress(value)
                values.append(value.decode() if isinstance(value, bytes) else repr(value))
    return "\n".join(values)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_an_anonymised_case_keeps_exactly_the_report_fields_and_its_mail_is_gone(uow_factory, data):
    case = data.draw(closed_cases(reference=f"TEST-2026-{next(NUMBERS):04d}"))
    store_with_mail(uow_factory, case)
    secrets = personal_values(case)
    assert [v for v in secrets if v in stored_text(uow_factory, case.reference)]  # there before
    done = anonymise_expired(services_for(uow_factory), RetentionPeriods({}, 6), LATER)
    assert case.reference in [d.reference for d in done]
    assert [v for v in secrets if v in stored_text(uow_factory, case.reference)] == []
    with uow_factory() as uow:
        stored = uow.records.get_for_update(case.reference)
        [outline] = [o for o in uow.records.outlines(case.opened_at, LATER + timedelta(days=1))
                     if o.reference == case.reference]
        row = uow.session.scalars(select(CaseRow).where(CaseRow.reference == case.reference)).one()
        columns = (row.referral, row.parties, row.outcome, row.decision)
        raws = uow.session.scalars(select(InboundMessageRow.raw).where(
            InboundMessageRow.case_reference == case.reference)).all()
        outgoing = uow.session.execute(select(OutboxMessageRow.data, OutboxMessageRow.status).where(
            OutboxMessageRow.case_reference == case.reference)).all()
    # What the report reads is what it was, with the anonymisation as one more event.
    assert dataclasses.replace(outline, events=outline.events[:-1]) == outline_of(case)
    assert outline.events[-1][1] is EventKind.CASE_ANONYMISED
    referral, parties, outcome, decision = columns
    assert {k for k, v in referral.items() if v not in (None, "", [])} <= KEPT_REFERRAL_FIELDS
    assert parties == {} and outcome == "" and decision == ""
    assert stored.anonymised_at == LATER and stored.status is case.status
    assert [zlib.decompress(raw) for raw in raws] == [b"", b""]
    assert sorted(outgoing) == [(b"", "failed"), (b"", "sent")]  # queued mail is given up, not sent


def _closed_case(reference: str, closed: datetime, policy: str = "bury") -> Case:
    engine = engine_for(policy)
    case, _ = engine.open_case(referral(immediate_risk=False), reference, closed - timedelta(days=3))
    engine.withdraw(case, "raised in error", closed, "bm@partnership.example")
    return case


@pytest.fixture
def three_cases(uow_factory):
    """One closed seven years ago, one closed five years ago, one still open."""
    now = datetime(2033, 6, 1, 2, tzinfo=LONDON)
    old = _closed_case("BSCP-2026-0001", now - timedelta(days=7 * 365))
    recent = _closed_case("BSCP-2028-0002", now - timedelta(days=5 * 365))
    engine = engine_for("bury")
    still_open, _ = engine.open_case(old.referral, "BSCP-2026-0003", now - timedelta(days=9 * 365))
    for case in (old, recent, still_open):
        store_with_mail(uow_factory, case)
    return now, old, recent, still_open


def test_only_closed_cases_past_their_period_are_anonymised_and_once(uow_factory, three_cases):
    now, old, recent, still_open = three_cases
    services = services_for(uow_factory)
    dry = anonymise_expired(services, RetentionPeriods({}, 6), now, dry_run=True)
    assert [d.reference for d in dry] == [old.reference]
    assert old.referral.child_name in stored_text(uow_factory, old.reference)  # a dry run changes nothing
    assert [d.reference for d in anonymise_expired(services, RetentionPeriods({}, 6), now)] == [old.reference]
    assert anonymise_expired(services, RetentionPeriods({}, 6), now) == []
    for untouched in (recent, still_open):
        assert untouched.referral.child_name in stored_text(uow_factory, untouched.reference)
    # A partnership that keeps data for four years: the recent case goes too.
    done = anonymise_expired(services, RetentionPeriods({"bury": 4}, 6), now)
    assert [d.reference for d in done] == [recent.reference]


def test_cases_show_says_when_a_case_was_anonymised_and_find_no_longer_lists_it(uow_factory, three_cases):
    now, old, recent, still_open = three_cases  # all three about one child
    services = services_for(uow_factory)
    name = old.referral.child_name.lower()  # Alfie Zebedee-Quinn, however it is typed
    found = [c.reference for c in cases_about_child(services, name)]
    assert found == [still_open.reference, old.reference, recent.reference]
    assert len(cases_about_child(services, "zebedee quinn", date(2015, 3, 4))) == 3
    assert cases_about_child(services, "Alfie Zebedee-Quinn", date(2015, 3, 5)) == []
    assert cases_about_child(services, "Alfie Smith") == []
    anonymise_expired(services, RetentionPeriods({}, 6), now)
    shown = show_case(services, old.reference)
    assert "Anonymised: 2033-06-01 02:00 (personal data removed at the end of the retention period)" in shown
    assert "Status: withdrawn" in shown and name not in shown and "CaseAnonymised" in shown
    found = cases_about_child(services, name)
    assert [c.reference for c in found] == [still_open.reference, recent.reference]
    assert found[0].status is CaseStatus.OPEN and found[0].child_dob == "2015-03-04"


def test_mail_linked_to_no_case_is_emptied_once_old_and_mail_still_needed_is_kept(uow_factory):
    """A refused referral, an automatic reply or the reply that told a sender what to fix can
    name a child but belongs to no case, so no case's retention ever reached it."""
    now = datetime.now(LONDON)
    child = "Rowan Unlinkedchild"
    emptied = {("processed", "old"), ("ignored", "old")}
    with uow_factory() as uow:
        for status, age in itertools.product(("processed", "ignored", "quarantined", "received",
                                              "linked"), ("old", "new")):
            data = f"Subject: {status} {age}\r\n\r\nChild: {child}\r\n".encode()
            record = uow.inbound.record("bury", 7, f"{status}-{age}", f"{status}-{age}@x", data)
            if status == "linked":
                uow.inbound.mark(record.id, "processed", f"BURY-{age}")
            elif status != "received":
                uow.inbound.mark(record.id, status)
        for n, (status, age) in enumerate(itertools.product(("sent", "failed", "queued"),
                                                            ("old", "new"))):
            uow.outbox.enqueue(OutboxItem(
                case_reference=None, template="referral_incomplete", stage=None, key=f"{n}",
                recipient=f"{status}-{age}@school.example", message_id=f"out-{n}@x",
                envelope_from="bsp@partnership.example", data=f"About {child}".encode()))
        uow.commit()
    with uow_factory() as uow:
        s, inbound, out = uow.session, InboundMessageRow, OutboxMessageRow
        s.execute(update(inbound).where(inbound.uid.like("%-old"))
                  .values(received_at=now - timedelta(days=91)))
        for row in s.scalars(select(out)):
            status, age = row.recipient.split("@")[0].split("-")
            row.status = status
            if age == "old":
                row.created_at = now - timedelta(days=91)
        uow.commit()

    def still_naming_the_child() -> tuple[set, set]:
        with uow_factory() as uow:
            s = uow.session
            came = {tuple(row.uid.split("-")) for row in s.scalars(select(InboundMessageRow))
                    if child.encode() in zlib.decompress(row.raw)}
            went = {row.message_id for row in s.scalars(select(OutboxMessageRow))
                    if child.encode() in row.data}
        return came, went

    every_message = still_naming_the_child()
    services = services_for(uow_factory)
    dry = erase_unlinked_mail(services, 90, now, dry_run=True)
    assert (dry.inbound, dry.outbox) == (2, 2)
    assert still_naming_the_child() == every_message  # a dry run changes nothing
    assert erase_unlinked_mail(services, 90, now) == dry
    came, went = still_naming_the_child()
    # Young mail, mail a person must see or act on, and a case's own (which waits for its
    # case's retention) still name the child.
    assert came == set(every_message[0]) - emptied
    assert went == {"out-1@x", "out-3@x", "out-4@x", "out-5@x"}  # the old sent and failed went
    with uow_factory() as uow:  # each row stays, so a copy that comes again is still known
        assert len(uow.session.scalars(select(InboundMessageRow)).all()) == 10
        assert "removed:" in uow.session.scalars(
            select(OutboxMessageRow.recipient).where(OutboxMessageRow.message_id == "out-0@x")).one()
    again = erase_unlinked_mail(services, 90, now)
    assert (again.inbound, again.outbox) == (0, 0)
