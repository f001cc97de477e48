"""Where the database's schema stands, in plain SQL: the revision alembic recorded in it,
beside the newest revision of the scripts in ``migrations/``. No SQLAlchemy or alembic here:
``migrate`` asks through a SQLAlchemy connection, the looking commands (issue 18) through
the standard library's sqlite3, and both run these same statements.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mailbot.domain.errors import PermanentError

# Runs one statement (named parameters, ``:name``) and gives back its rows.
Execute = Callable[[str, dict[str, Any]], Sequence[Sequence[Any]]]

MIGRATIONS = Path(__file__).resolve().with_name("migrations")
# `revision: str = "0004"` / `down_revision: str | None = None` in a migration script.
_REVISION_LINE = re.compile(r"^(revision|down_revision)\s*(?::[^=\n]*)?=\s*(.*?)\s*$", re.MULTILINE)
_PLAIN_VALUE = re.compile(r"""^(?:"([^"]+)"|'([^']+)'|None)$""")
# Whether alembic's table is there (SQLAlchemy's has_table: visible on the search path).
_VERSION_TABLE = {
    "sqlite": "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table'"
              " AND name = 'alembic_version')",
    "postgresql": "SELECT to_regclass('alembic_version') IS NOT NULL",
}
# A SQLite URL with no password and nothing SQLAlchemy would escape when showing it.
PLAIN_SQLITE_URL = re.compile(r"sqlite:///[A-Za-z0-9/._~ +-]+")


class DatabaseUnavailable(PermanentError):
    """The database at database.url cannot be reached or opened; the message says why."""

    def __init__(self, source: str, url: Any, reason: str):
        self.reason = " ".join(reason.split())  # psycopg's reasons run over several lines
        super().__init__(f"{source}: database.url: cannot use the database {shown(url)}: {self.reason}."
                         f" {_what_to_do(self.reason)}")


def _what_to_do(reason: str) -> str:
    if "locked" in reason:
        return ("Another process holds the database's write lock (a backup, a copy, another"
                " mailbot?); wait for it to finish and try again.")
    if "not a database" in reason or "malformed" in reason or "corrupt" in reason:
        return ("The file is damaged or is not a mailbot database: stop the worker and restore the"
                " file from a backup (made with `mailbot backup`), or point database.url at the"
                " right file.")
    return ("Check that the server is running and that the URL's host, port, user, password and"
            " database name are right.")


class SchemaOutOfDate(PermanentError):
    """The database's schema is older than this mailbot's; `mailbot db upgrade` brings it on."""


@dataclass(frozen=True)
class SchemaStatus:
    current: str | None  # None: an empty database (or no SQLite file yet)
    head: str | None
    exists: bool = True

    @property
    def upgrade_due(self) -> bool:
        return self.current != self.head

    def describe(self) -> str:
        if not self.exists:
            return f"there is no database file yet; `mailbot db upgrade` creates it at schema {self.head}"
        if not self.upgrade_due:
            return f"the schema is up to date ({self.head})"
        return (f"an upgrade is due: the schema is at {self.current or 'nothing (an empty database)'},"
                f" this mailbot needs {self.head}; run `mailbot db upgrade`")


def refuse_when_due(status: SchemaStatus, url: Any, source: str) -> None:
    """For the commands that never migrate: stop, saying so, when an upgrade is due."""
    if status.upgrade_due:
        raise SchemaOutOfDate(f"{source}: database.url: {shown(url)}: {status.describe()}")


def shown(url: Any) -> str:
    """The URL with its password hidden, for logs and messages."""
    if isinstance(url, str) and PLAIN_SQLITE_URL.fullmatch(url):
        return url  # no password to hide, and SQLAlchemy would render it unchanged
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def stored_revisions(execute: Execute, dialect: str) -> list[str] | None:
    """The revisions alembic recorded (one, unless the scripts branched); None when its table
    is not there (an empty database)."""
    if not execute(_VERSION_TABLE[dialect], {})[0][0]:
        return None
    return [str(row[0]) for row in execute("SELECT version_num FROM alembic_version", {})]


@functools.cache
def head_revision() -> str | None:
    """The newest revision of the scripts: read from their ``revision`` lines when they form
    one plain chain, else (a merge, a branch) asked of alembic."""
    revisions, parents = set(), set()
    for path in (MIGRATIONS / "versions").glob("*.py"):
        found = dict(_REVISION_LINE.findall(path.read_text(encoding="utf-8")))
        values = {key: _PLAIN_VALUE.match(found.get(key, "")) for key in ("revision", "down_revision")}
        if not all(values.values()) or values["revision"].group(0) == "None":
            return _alembic_head()
        revisions.add(values["revision"].group(1) or values["revision"].group(2))
        parents.add(values["down_revision"].group(1) or values["down_revision"].group(2))
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 else _alembic_head()


def _alembic_head() -> str | None:
    from mailbot.adapters.migrate import _alembic_head

    return _alembic_head()
