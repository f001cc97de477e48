"""A consistent copy of a live SQLite database, through SQLite's online backup API.

Copying the file while the worker writes can tear a page or miss what still sits in the
write-ahead log; the backup API copies a snapshot of the database as one reader sees it, the
log included, while the worker carries on. The copy is written under a temporary name (0600,
like the database), checked with ``PRAGMA integrity_check``, and only then given its name,
so a backup file either is whole or does not exist.
"""

from __future__ import annotations

import os
import secrets
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from mailbot.adapters.sqlalchemy_store.engine import create_private
from mailbot.domain.errors import PermanentError


@dataclass(frozen=True)
class BackupMade:
    path: Path
    cases: int
    schema: str | None
    size: int


def backup_sqlite(source: Path, target: Path) -> BackupMade:
    if not source.is_file():
        raise PermanentError(f"there is no database at {source} to back up")
    if target.exists():
        raise PermanentError(f"{target} already exists; give the backup a new name (e.g. with the date)")
    if not target.parent.is_dir():
        raise PermanentError(f"the folder {target.parent} does not exist; make it first")
    partial = target.with_name(f".{target.name}.partial-{secrets.token_hex(4)}")
    create_private(partial)
    try:
        made = _copy(source, partial)
        os.replace(partial, target)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return BackupMade(target, made.cases, made.schema, target.stat().st_size)


def _copy(source: Path, partial: Path) -> BackupMade:
    live = sqlite3.connect(source, timeout=30)
    copy = sqlite3.connect(partial)
    try:
        live.backup(copy)  # all pages in one step: one consistent snapshot
        # The copy stands alone: no write-ahead log beside it to lose in a restore.
        copy.execute("PRAGMA journal_mode=DELETE")
        verdict = copy.execute("PRAGMA integrity_check").fetchone()[0]
        if verdict != "ok":
            raise PermanentError(f"the copy failed SQLite's integrity check: {verdict}")
        return BackupMade(partial, _count(copy, "SELECT count(*) FROM cases"),
                          _one(copy, "SELECT version_num FROM alembic_version"), 0)
    except sqlite3.Error as error:
        raise PermanentError(f"cannot back up {source}: {error}") from error
    finally:
        copy.close()
        live.close()


def _count(connection: sqlite3.Connection, sql: str) -> int:
    try:
        return int(connection.execute(sql).fetchone()[0])
    except sqlite3.OperationalError:  # an empty database: no tables yet
        return 0


def _one(connection: sqlite3.Connection, sql: str) -> str | None:
    try:
        row = connection.execute(sql).fetchone()
    except sqlite3.OperationalError:
        return None
    return row[0] if row else None
