"""Helpers the repositories share: dialect upserts, running the plain statements shared with
the looking commands (``statements``, ``reading``), and translating database errors.

A locked database, a dropped connection or a serialisation failure is worth retrying, so it
becomes ``DatabaseTrouble`` (a ``TransientError``); a broken constraint or a refused value
is a bug or bad data, so ``PermanentError``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, ParamSpec, TypeVar

from sqlalchemy import Connection, Engine, Table, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError, StatementError
from sqlalchemy.orm import Session

from mailbot.adapters.schema_revision import Execute
from mailbot.domain.errors import DatabaseTrouble, PermanentError

P = ParamSpec("P")
R = TypeVar("R")


def upsert(session: Session, table: Table) -> Any:
    """An INSERT that offers ``on_conflict_do_nothing`` / ``_do_update`` on either dialect."""
    return upsert_for(session.get_bind().dialect.name, table)


def upsert_for(dialect: str, table: Table) -> Any:
    """``upsert`` by the dialect's name, for statements built once and kept."""
    return postgresql.insert(table) if dialect == "postgresql" else sqlite.insert(table)


def statements(bind: Session | Connection) -> Execute:
    """Runs the plain SQL that ``case_reading`` and ``schema_revision`` share with the
    looking commands' sqlite3 reads, on this session or connection (errors untranslated)."""

    def execute(sql: str, parameters: dict[str, Any]) -> Sequence[Sequence[Any]]:
        return bind.execute(text(sql), parameters).all()

    return execute


@contextmanager
def reading(engine: Engine) -> Iterator[Execute]:
    """A connection for the looking commands where plain sqlite3 cannot serve (PostgreSQL)."""
    with engine.connect() as connection:
        yield translated(statements(connection))


def translated(method: Callable[P, R]) -> Callable[P, R]:
    """Re-raises SQLAlchemy's errors as the ``MailbotError`` kind the worker understands."""

    @functools.wraps(method)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return method(*args, **kwargs)
        except IntegrityError as error:
            raise PermanentError(f"database constraint refused the change: {error.orig}") from error
        except OperationalError as error:
            raise DatabaseTrouble(f"database unavailable or busy: {error.orig}") from error
        except DBAPIError as error:
            if error.connection_invalidated:
                raise DatabaseTrouble(f"database connection lost: {error.orig}") from error
            raise
        except StatementError as error:
            # A value our own column types refused (a naive datetime) before any SQL ran.
            if isinstance(error.orig, ValueError):
                raise PermanentError(str(error.orig)) from error
            raise

    return wrapper
