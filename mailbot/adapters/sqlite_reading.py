"""The looking commands' SQLite connection: the standard library's sqlite3 alone, reading.

`mailbot cases` and `cases show` on SQLite (the embedded default, and most partnerships)
answer without importing SQLAlchemy (issue 18). They run the store's own statements
(``case_reading``, ``schema_revision``) and never write: the file is opened read-write
but never created (``mode=rw``), and the schema is checked as every command that does not
migrate checks it. Each read begins as the store's transactions do (BEGIN IMMEDIATE,
waiting up to the busy timeout), so a database another process holds locked is reported
as it always was, and errors read as the SQLAlchemy store's would.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

from mailbot.adapters.schema_revision import (
    PLAIN_SQLITE_URL,
    DatabaseUnavailable,
    Execute,
    SchemaStatus,
    head_revision,
    refuse_when_due,
    stored_revisions,
)
from mailbot.domain.errors import DatabaseTrouble

_PREFIX = "sqlite:///"


def plain_sqlite_file(url: str) -> Path | None:
    """The file of a plain ``sqlite:///path`` URL; None for anything else (PostgreSQL,
    :memory:, URIs, query options, a path SQLAlchemy would escape), which SQLAlchemy reads."""
    return Path(url[len(_PREFIX):]) if PLAIN_SQLITE_URL.fullmatch(url) else None


def schema_is_current(path: Path, url: str, source: str, busy_timeout: float) -> bool:
    """Raises as ``migrate.require_current_schema`` does when an upgrade is due or the file
    cannot be read; False when the database records several revisions (alembic judges)."""
    if not path.exists():
        refuse_when_due(SchemaStatus(None, head_revision(), exists=False), url, source)
    try:
        with sqlite_reading(path, busy_timeout, translate=False) as execute:
            versions = stored_revisions(execute, "sqlite")
    except sqlite3.DatabaseError as error:
        raise DatabaseUnavailable(source, url, str(error)) from error
    if versions is not None and len(versions) > 1:
        return False
    refuse_when_due(SchemaStatus(versions[0] if versions else None, head_revision()), url, source)
    return True


@contextmanager
def sqlite_reading(path: Path, busy_timeout: float, translate: bool = True) -> Iterator[Execute]:
    """One transaction, begun as the store begins its own: the case and its history come
    from the same snapshot, and a lock held elsewhere is met as every command meets it."""
    connection = sqlite3.connect(f"file:{quote(str(path))}?mode=rw", uri=True,
                                 timeout=busy_timeout, isolation_level=None)

    def execute(sql: str, parameters: dict[str, Any]) -> Sequence[Sequence[Any]]:
        try:
            return connection.execute(sql, parameters).fetchall()
        except sqlite3.OperationalError as error:
            if not translate:
                raise
            # As the store's ``translated``: busy or locked is worth another try.
            raise DatabaseTrouble(f"database unavailable or busy: {error}") from error

    try:
        execute("BEGIN IMMEDIATE", {})
        yield execute
    finally:
        connection.close()
