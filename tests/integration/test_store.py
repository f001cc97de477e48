"""The SQLAlchemy store against real SQLite and PostgreSQL: cases, history, references, schema.

Every test runs once per database (the ``database_url`` fixture's parameters). The tests
taking ``store_factory`` are the ports' contract and run over the unit tests' fake store too.
The inbound log, the outbox and the state store are in ``test_store_mail.py``.
"""

from __future__ import annotations

import dataclasses
import threading
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import event, func, select, text

from mailbot.adapters.migrate import current_revision, head_revision, migrate
from mailbot.adapters.sqlalchemy_store import make_engine
from mailbot.adapters.sqlalchemy_store.case_rows import case_columns
from mailbot.adapters.sqlalchemy_store.orm import Base, CaseEventRow, CaseRow
from mailbot.domain.case import Case, CaseStatus, Event, EventKind
from mailbot.domain.errors import PermanentError
from mailbot.domain.referral import AgencyType, Person, Referral

LONDON = ZoneInfo("Europe/London")
T0 = datetime(2026, 3, 27, 16, 30, tzinfo=LONDON)  # the Friday before the clocks change

pytest_plugins = ["tests.integration.db_fixtures"]


def full_referral() -> Referral:
    """A referral with every field set to something other than its default."""
    return Referral(
        child_name="Ada Example", referrer_name="Rita Referrer",
        referrer_email="rita@school.example",
        summary="Disagreement about the threshold for a strategy meeting.",
        child_dob=date(2015, 6, 1), date_of_notification=date(2026, 3, 20),
        referrer_role="DSL", referrer_agency="Example Primary", referrer_phone="01632 960000",
        referrer_agency_type=AgencyType.SCHOOL, safeguarding_lead_aware=True,
        safeguarding_lead_name="Sam Lead", safeguarding_lead_email="sam@school.example",
        other_agency="Children's Trust", other_agency_contact_name="Tom Worker",
        other_agency_contact_email="tom@trust.example",
        other_agency_type=AgencyType.CHILDRENS_SOCIAL_CARE, disagreement_category="threshold",
        child_protection_plan=False, looked_after=True, immediate_risk=False, stage_reached=2,
        earlier_stages_evidence="Stage 1 discussion on 18 March.", desired_outcome="A meeting.",
        actions_to_date="Two discussions and a professionals' meeting.",
        referral_rationale="The agencies' senior managers could not agree.",
        stage_3_outcome_date=date(2026, 3, 18), stage_3_evidence="Heads of service met.",
        stage_4_outcome_date=date(2026, 3, 25), stage_4_final_decision="Upheld.",
        extra=(("Anything else", "Interpreter needed"), ("Ethnicity", "Not stated")),
    )


def full_case(reference: str = "BSCP-2026-0001", *, next_chase_at: datetime | None = None,
              status: CaseStatus = CaseStatus.OPEN) -> Case:
    case = Case(
        reference=reference, policy_key="bury", referral=full_referral(), opened_at=T0,
        stage=2, stage_entered_at=T0 + timedelta(minutes=5), deadline=T0 + timedelta(days=7),
        phase=1, deadline_started_at=T0 + timedelta(minutes=5), status=status,
        parties={"practitioner": [Person("Rita Referrer", "rita@school.example"),
                                  Person("", "tom@trust.example")],
                 "safeguarding_lead": [Person("Sam Lead", "sam@school.example")]},
        chase_points_passed=1, next_chase_at=next_chase_at or T0 + timedelta(days=5),
        outcome="", decision="", closed_at=None,
    )
    case.record(Event(T0, EventKind.CASE_OPENED, "rita@school.example", "Opened at Stage 2.", 2,
                      "abc@school.example"))
    case.record(Event(T0 + timedelta(minutes=5), EventKind.PERSON_ASSIGNED, "mailbot",
                      "Named Sam Lead.", 2))
    return case


def store(uow_factory, *cases: Case) -> None:
    with uow_factory() as uow:
        for case in cases:
            uow.cases.add(case)
        uow.commit()


def load(uow_factory, reference: str) -> Case | None:
    with uow_factory() as uow:
        return uow.cases.get(reference)


def test_every_case_field_has_a_column_of_its_own_or_is_mapped_explicitly():
    columns = set(CaseRow.__table__.columns.keys())
    assert set(case_columns()) <= columns
    assert {f.name for f in dataclasses.fields(Case)} - set(case_columns()) == {
        "history", "referral", "parties", "status"}


def test_the_sample_referral_sets_every_field_so_the_round_trip_covers_them_all():
    sample, missing = full_referral(), dataclasses.MISSING
    defaults = {f.name: f.default if f.default is not missing else f.default_factory()
                for f in dataclasses.fields(Referral)
                if f.default is not missing or f.default_factory is not missing}
    assert [name for name, default in defaults.items() if getattr(sample, name) == default] == []


def test_a_case_comes_back_with_every_field_parties_referral_and_history(store_factory):
    case = full_case()
    store(store_factory, case)
    loaded = load(store_factory, case.reference)
    assert loaded == case
    assert loaded.referral == full_referral()
    assert loaded.history == case.history


def test_times_come_back_timezone_aware_in_utc(uow_factory):
    store(uow_factory, full_case())
    loaded = load(uow_factory, "BSCP-2026-0001")
    assert loaded.opened_at.tzinfo is UTC
    assert loaded.opened_at == T0
    assert loaded.history[0].at.utcoffset() == timedelta(0)


def test_a_naive_time_is_refused_rather_than_guessed(uow_factory):
    case = dataclasses.replace(full_case(), opened_at=datetime(2026, 3, 27, 9, 0))
    with pytest.raises(PermanentError, match="naive"):
        store(uow_factory, case)


def test_changes_and_new_events_of_a_loaded_case_are_saved(store_factory):
    store(store_factory, full_case())
    with store_factory() as uow:
        case = uow.cases.get("BSCP-2026-0001")
        case.stage, case.status, case.outcome = 3, CaseStatus.RESOLVED, "Agreed a plan."
        case.add_person("chair", Person("Chris Chair", "chair@lscp.example"))
        case.record(Event(T0 + timedelta(days=1), EventKind.ESCALATED, "sam@school.example",
                          "Escalated.", 3, "def@school.example"))
        uow.cases.save(case)
        uow.commit()
    assert load(store_factory, "BSCP-2026-0001") == case


def test_work_not_committed_is_rolled_back(store_factory):
    with store_factory() as uow:
        uow.cases.add(full_case())
    assert load(store_factory, "BSCP-2026-0001") is None


def test_the_repository_only_inserts_events_and_never_updates_or_deletes_them(
        uow_factory, engine):
    statements: list[str] = []
    event.listen(engine, "before_cursor_execute",
                 lambda *args: statements.append(args[2].lower()))
    store(uow_factory, full_case())
    for day in range(1, 4):
        with uow_factory() as uow:
            case = uow.cases.get("BSCP-2026-0001")
            case.record(Event(T0 + timedelta(days=day), EventKind.NOTE_ADDED, "x@y.example",
                              f"Note {day}", 2))
            uow.commit()
    touching_events = [s for s in statements if "case_events" in s]
    assert sum(s.startswith("insert") for s in touching_events) >= 4
    assert not [s for s in touching_events if s.startswith(("update", "delete"))]
    with uow_factory() as uow:
        seqs = uow.session.scalars(select(CaseEventRow.seq).order_by(CaseEventRow.seq)).all()
    assert seqs == [1, 2, 3, 4, 5]


@pytest.mark.parametrize("tamper", ["remove", "rewrite"])
def test_a_case_whose_recorded_history_was_altered_is_refused(uow_factory, tamper):
    store(uow_factory, full_case())
    with uow_factory() as uow:
        case = uow.cases.get("BSCP-2026-0001")
        if tamper == "remove":
            case.history.pop(0)
        else:
            case.history[0] = dataclasses.replace(case.history[0], text="Something else.")
        with pytest.raises(PermanentError, match="append-only"):
            uow.commit()
    assert load(uow_factory, "BSCP-2026-0001").history == full_case().history


def test_a_second_case_with_the_same_reference_is_refused(store_factory):
    store(store_factory, full_case())
    with pytest.raises(PermanentError):
        store(store_factory, full_case())


def test_references_count_up_per_prefix_and_year(store_factory):
    with store_factory() as uow:
        given = [uow.cases.next_reference("BSCP", 2026) for _ in range(3)]
        given += [uow.cases.next_reference("CHSCP", 2026), uow.cases.next_reference("BSCP", 2027)]
        uow.commit()
    assert given == ["BSCP-2026-0001", "BSCP-2026-0002", "BSCP-2026-0003", "CHSCP-2026-0001",
                     "BSCP-2027-0001"]
    with store_factory() as uow:
        assert uow.cases.next_reference("BSCP", 2026) == "BSCP-2026-0004"


def test_a_reference_a_stored_case_holds_is_never_given_again(uow_factory):
    store(uow_factory, full_case("BSCP-2026-0001"), full_case("BSCP-2026-0002"))
    with uow_factory() as uow:  # as if the counter had been lost
        uow.session.execute(text("DELETE FROM reference_counters"))
        assert uow.cases.next_reference("BSCP", 2026) == "BSCP-2026-0003"


def test_a_five_digit_reference_a_stored_case_holds_is_never_given_again(uow_factory):
    store(uow_factory, full_case("BSCP-2026-10000"))
    with uow_factory() as uow:
        uow.cases.raise_counters({"BSCP-2026": 9998})
        assert uow.cases.next_reference("BSCP", 2026) == "BSCP-2026-9999"
        assert uow.cases.next_reference("BSCP", 2026) == "BSCP-2026-10001"


def test_two_concurrent_writers_get_a_hundred_distinct_references(uow_factory):
    given: list[str] = []
    start = threading.Barrier(2)

    def writer() -> None:
        start.wait(timeout=10)
        for _ in range(50):
            with uow_factory() as uow:
                reference = uow.cases.next_reference("BSCP", 2026)
                uow.commit()
            given.append(reference)

    threads = [threading.Thread(target=writer) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(given) == 100
    assert sorted(given) == [f"BSCP-2026-{n:04d}" for n in range(1, 101)]


def test_two_writers_changing_one_case_at_once_both_keep_their_events(uow_factory):
    store(uow_factory, full_case())
    first_loaded, errors = threading.Event(), []

    def change(note: str, signal: threading.Event | None) -> None:
        try:
            with uow_factory() as uow:
                case = uow.cases.get("BSCP-2026-0001")
                if signal:
                    signal.set()
                    threading.Event().wait(0.3)  # hold the lock while the other one waits
                case.record(Event(T0, EventKind.NOTE_ADDED, "x@y.example", note, 2))
                uow.commit()
        except Exception as error:  # reported by the assertion below
            errors.append(error)

    first = threading.Thread(target=change, args=("first", first_loaded))
    first.start()
    first_loaded.wait(timeout=10)
    change("second", None)
    first.join(timeout=30)
    assert errors == []
    notes = [e.text for e in load(uow_factory, "BSCP-2026-0001").history[2:]]
    assert notes == ["first", "second"]


def test_due_for_chasing_gives_open_cases_whose_chase_point_has_come_earliest_first(
        store_factory):
    now = datetime(2026, 4, 1, 9, 0, tzinfo=UTC)
    store(store_factory,
          full_case("A-2026-0001", next_chase_at=now - timedelta(hours=1)),
          full_case("A-2026-0002", next_chase_at=now - timedelta(days=2)),
          full_case("A-2026-0003", next_chase_at=now),
          full_case("A-2026-0004", next_chase_at=now + timedelta(seconds=1)),
          full_case("A-2026-0005", next_chase_at=now - timedelta(days=9),
                    status=CaseStatus.WITHDRAWN))
    with store_factory() as uow:
        assert uow.cases.due_for_chasing(now) == ["A-2026-0002", "A-2026-0001", "A-2026-0003"]
        assert uow.cases.due_for_chasing(now, limit=1) == ["A-2026-0002"]
        assert [s.reference for s in uow.cases.summaries("open")] == [
            f"A-2026-000{n}" for n in range(1, 5)]
        assert len(uow.cases.summaries()) == 5


def test_due_for_chasing_is_served_by_the_partial_index_not_a_scan(uow_factory, engine):
    store(uow_factory, *(full_case(f"A-2026-{n:04d}") for n in range(1, 30)))
    executed: list[tuple[str, object]] = []
    listener = lambda _c, _cur, sql, params, *_: executed.append((sql, params))  # noqa: E731
    event.listen(engine, "before_cursor_execute", listener)
    with uow_factory() as uow:
        uow.cases.due_for_chasing(datetime(2026, 4, 1, tzinfo=UTC))
    event.remove(engine, "before_cursor_execute", listener)
    # Explain the statement exactly as it ran, bound parameters and all.
    [(sql, params)] = [(q, p) for q, p in executed if "next_chase_at <=" in q]
    assert plan_of(engine, sql, params).count("ix_cases_due") == 1


def plan_of(engine, sql: str, params: object) -> str:
    with engine.connect() as connection:
        if engine.dialect.name == "postgresql":
            # A table this small is cheaper to scan; ask whether the index *can* serve it.
            connection.exec_driver_sql("SET enable_seqscan = off")
            rows = connection.exec_driver_sql(f"EXPLAIN {sql}", params)
            plan = " ".join(r[0] for r in rows)
            assert "Seq Scan" not in plan
        else:
            plan = " ".join(r[-1] for r in connection.exec_driver_sql(
                f"EXPLAIN QUERY PLAN {sql}", params))
            assert "SCAN cases" not in plan
    return plan


def test_the_migrated_schema_matches_the_tables_the_code_declares(database_url):
    migrate(database_url)
    migrate(database_url)  # a second start-up finds nothing to do
    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            assert compare_metadata(context, Base.metadata) == []
            assert current_revision(connection) == head_revision()
            count = connection.execute(select(func.count()).select_from(CaseRow)).scalar_one()
            assert count == 0
    finally:
        engine.dispose()
