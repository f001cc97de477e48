"""Case references taken a few at a time (``sqlalchemy_store/references.py``), on SQLite and
PostgreSQL: fewer statements than references, yet gapless, never one a stored case holds, and
right again after a savepoint's rollback (issue 18)."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text

from mailbot.adapters.sqlalchemy_store.orm import ReferenceCounterRow
from tests.integration.statement_log import statements_run
from tests.integration.test_store import full_case, store

pytest_plugins = ["tests.integration.db_fixtures"]


def _counter(uow_factory, prefix: str = "BSCP", year: int = 2026) -> int:
    with uow_factory() as uow:
        return uow.session.scalar(select(ReferenceCounterRow.last_number).where(
            ReferenceCounterRow.prefix == prefix, ReferenceCounterRow.year == year))


def test_twenty_references_take_five_statements_and_leave_no_gap(uow_factory, monkeypatch):
    sent = statements_run(uow_factory, monkeypatch)
    with uow_factory() as uow:
        given = [uow.cases.next_reference("BSCP", 2026) for _ in range(20)]
        uow.commit()

    assert given == [f"BSCP-2026-{n:04d}" for n in range(1, 21)]
    bumps = [s for s in sent if s.startswith("INSERT INTO reference_counters")]
    assert len(bumps) == 5  # 1, 2, 4, 8 and 16 numbers: 31 taken, 11 given back
    assert _counter(uow_factory) == 20
    with uow_factory() as uow:
        assert uow.cases.next_reference("BSCP", 2026) == "BSCP-2026-0021"


def test_one_reference_takes_one_statement_and_gives_nothing_back(uow_factory, monkeypatch):
    sent = statements_run(uow_factory, monkeypatch)
    with uow_factory() as uow:
        assert uow.cases.next_reference("BSCP", 2026) == "BSCP-2026-0001"
        uow.commit()
    assert [s.split()[0] for s in sent if "reference_counters" in s] == ["INSERT"]


def test_numbers_stored_cases_hold_are_skipped_inside_a_block(uow_factory):
    store(uow_factory, *(full_case(f"BSCP-2026-{n:04d}") for n in (1, 2, 4, 5)))
    with uow_factory() as uow:  # as if the counter had been lost
        uow.session.execute(text("DELETE FROM reference_counters"))
        given = [uow.cases.next_reference("BSCP", 2026) for _ in range(3)]
        uow.commit()
    assert given == ["BSCP-2026-0003", "BSCP-2026-0006", "BSCP-2026-0007"]
    assert _counter(uow_factory) == 7


def test_a_savepoint_rolled_back_gives_its_numbers_again(uow_factory):
    with uow_factory() as uow:
        first = uow.cases.next_reference("BSCP", 2026)
        with pytest.raises(ValueError), uow.savepoint():
            undone = [uow.cases.next_reference("BSCP", 2026) for _ in range(4)]
            raise ValueError("undone")
        after = [uow.cases.next_reference("BSCP", 2026) for _ in range(2)]
        uow.commit()
    assert (first, undone[0]) == ("BSCP-2026-0001", "BSCP-2026-0002")
    assert after == ["BSCP-2026-0002", "BSCP-2026-0003"]
    assert _counter(uow_factory) == 3


def test_counters_raised_after_a_block_was_taken_stay_raised(uow_factory):
    with uow_factory() as uow:
        given = [uow.cases.next_reference("BSCP", 2026) for _ in range(4)]  # 3 of 7 left
        uow.cases.raise_counters({"BSCP-2026": 40})
        given.append(uow.cases.next_reference("BSCP", 2026))
        uow.commit()
    assert given[-2:] == ["BSCP-2026-0004", "BSCP-2026-0041"]
    assert _counter(uow_factory) == 41
