"""The reference marker against the real store (SQLite and PostgreSQL): the database's
identity, its counters raised (never lowered) to the marker's, and the marker kept up to
date after every commit that issued a reference."""

from __future__ import annotations

import json

from sqlalchemy import text

from mailbot.adapters.reference_marker import FileReferenceMarker
from mailbot.adapters.sqlalchemy_store import SqlAlchemyUnitOfWork
from mailbot.services.context import Services
from mailbot.services.database_identity import check_database

pytest_plugins = ["tests.integration.db_fixtures"]


def _services(session_factory, marker) -> Services:
    factory = lambda: SqlAlchemyUnitOfWork(session_factory, on_issued=marker.note_issued)  # noqa: E731
    return Services(uow_factory=factory, composer=None, mailboxes={})


def _issue(services: Services, prefix: str = "BSCP", year: int = 2026) -> str:
    with services.uow_factory() as uow:
        reference = uow.cases.next_reference(prefix, year)
        uow.commit()
    return reference


def test_the_marker_follows_each_committed_reference_and_a_new_database_is_refused(
        session_factory, tmp_path):
    marker = FileReferenceMarker(tmp_path / "database-marker.json", "sqlite:///x")
    services = _services(session_factory, marker)
    first = check_database(services, marker, accept=False)
    assert first.problem == "" and first.database_id
    assert [_issue(services) for _ in range(3)][-1] == "BSCP-2026-0003"
    with services.uow_factory() as uow:
        uow.cases.next_reference("BSCP", 2026)  # rolled back: never issued
    kept = json.loads(marker.path.read_text())
    assert kept["references"] == {"BSCP-2026": 3} and kept["database_id"] == first.database_id
    assert check_database(services, marker, accept=False).problem == "", "the same database"
    # The same marker before another (empty) database: as if database.url were mistyped.
    other = FileReferenceMarker(marker.path)
    with services.uow_factory() as uow:
        uow.session.execute(text("DELETE FROM state"))
        uow.session.execute(text("DELETE FROM reference_counters"))
        uow.commit()
    refused = check_database(services, other, accept=False)
    assert "BSCP-2026-0003" in refused.problem
    accepted = check_database(services, other, accept=True)
    assert accepted.accepted and _issue(services) == "BSCP-2026-0004"


def test_counters_are_raised_to_the_markers_and_never_lowered(uow_factory):
    with uow_factory() as uow:
        assert uow.cases.next_reference("BSCP", 2026) == "BSCP-2026-0001"
        uow.cases.raise_counters({"BSCP-2026": 40, "CHSCP-2027": 5})
        uow.cases.raise_counters({"BSCP-2026": 7})
        uow.commit()
    with uow_factory() as uow:
        assert uow.cases.reference_counters() == {"BSCP-2026": 40, "CHSCP-2027": 5}
        assert uow.cases.next_reference("BSCP", 2026) == "BSCP-2026-0041"


def test_two_workers_starting_at_once_agree_on_one_database_identity(uow_factory):
    with uow_factory() as first, uow_factory() as second:
        kept = first.state.setdefault("database-id", "first")
        first.commit()
        assert second.state.setdefault("database-id", "second") == kept == "first"
        second.commit()


def test_a_reference_issued_in_a_savepoint_that_failed_is_not_marked(session_factory, tmp_path):
    """Acting goes a chunk of messages to a transaction, each in a savepoint; a message that
    fails after its case reference was issued gives the number back, and the marker must not
    count it, or the next start would take the database for an older copy."""
    marker = FileReferenceMarker(tmp_path / "database-marker.json", "sqlite:///x")
    services = _services(session_factory, marker)
    check_database(services, marker, accept=False)
    with services.uow_factory() as uow:
        try:
            with uow.savepoint():
                uow.cases.next_reference("BSCP", 2026)
                raise RuntimeError("the message failed after its reference was issued")
        except RuntimeError:
            pass
        uow.commit()  # the chunk's other messages stand
    assert check_database(services, marker, accept=False).problem == ""
    assert _issue(services) == "BSCP-2026-0001"
