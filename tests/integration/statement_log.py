"""The statements a test's store runs, to count them by kind."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import event

from mailbot.adapters.sqlalchemy_store import SqlAlchemyUnitOfWork, outbox, pipelined


def statements_run(uow_factory: Callable[[], SqlAlchemyUnitOfWork],
                   monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every statement the engine behind ``uow_factory`` runs from now on, and those the
    outbox sends through psycopg's own executemany on PostgreSQL (``pipelined``)."""
    with uow_factory() as uow:
        engine = uow.session.get_bind()
    sent: list[str] = []
    event.listen(engine, "before_cursor_execute",
                 lambda conn, cursor, statement, *rest: sent.append(" ".join(statement.split())))

    def insert_returning(session, statement, rows):
        sent.append(f"{statement} (psycopg executemany)")
        return pipelined.insert_returning(session, statement, rows)

    monkeypatch.setattr(outbox, "insert_returning", insert_returning)
    return sent

