"""The looking commands' reads (`mailbot cases`, `cases show`) against real SQLite and
PostgreSQL: what they read is what the store wrote and what the store itself reads back.

On a SQLite file they use the standard library's sqlite3 (issue 18), elsewhere a SQLAlchemy
connection; both run ``case_reading``'s statements, as the store's ``summaries`` does.
"""

from __future__ import annotations

import sqlite3
from datetime import timedelta

import pytest

from mailbot.adapters.migrate import require_current_schema
from mailbot.adapters.schema_revision import SchemaOutOfDate
from mailbot.config import DatabaseSettings, embedded_default
from mailbot.domain.case import CaseStatus
from mailbot.entrypoints.store_view import store_view
from tests.integration.test_store import T0, full_case, load, store

pytest_plugins = ["tests.integration.db_fixtures"]


def view_of(url: str):
    settings = embedded_default().model_copy(update={"database": DatabaseSettings(url=url)})
    return store_view(settings)


def closed_case():
    case = full_case("BSCP-2026-0002", status=CaseStatus.RESOLVED)
    case.outcome, case.decision, case.closed_at = "Agreed a plan.", "Upheld.", T0 + timedelta(days=3)
    case.anonymised_at = T0 + timedelta(days=400)
    return case


def test_a_looked_at_case_is_the_case_the_store_reads_back(database_url, uow_factory):
    store(uow_factory, full_case(), closed_case())
    view = view_of(database_url)
    with view.uow_factory() as uow:
        shown = [uow.cases.get("bscp-2026-0001 "), uow.cases.get("BSCP-2026-0002")]
        missing = uow.cases.get("BSCP-2026-0099")
    assert shown == [load(uow_factory, "BSCP-2026-0001"), load(uow_factory, "BSCP-2026-0002")]
    assert shown[0].deadline.utcoffset() == timedelta(0) and len(shown[0].history) == 2
    assert missing is None


def test_the_case_list_is_the_stores_list_in_the_same_order(database_url, uow_factory):
    store(uow_factory, closed_case(), full_case())
    with view_of(database_url).uow_factory() as uow:
        listed, open_only = uow.cases.summaries(), uow.cases.summaries("open")
    with uow_factory() as uow:
        assert listed == uow.cases.summaries() and open_only == uow.cases.summaries("open")
    assert [s.reference for s in listed] == ["BSCP-2026-0001", "BSCP-2026-0002"]
    assert [s.reference for s in open_only] == ["BSCP-2026-0001"]


def test_a_sqlite_database_without_the_schema_is_refused_as_the_store_refuses_it(tmp_path):
    url = f"sqlite:///{tmp_path / 'empty.sqlite3'}"
    sqlite3.connect(tmp_path / "empty.sqlite3").close()
    with pytest.raises(SchemaOutOfDate) as store_says:
        require_current_schema(url, "(embedded default)")
    with pytest.raises(SchemaOutOfDate) as view_says:
        view_of(url)
    assert str(view_says.value) == str(store_says.value)
    assert "an upgrade is due" in str(view_says.value)
