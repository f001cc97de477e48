"""The database's schema: brought up to date (``migrate``), or checked (``schema_status``).

The commands that do the work (run, poll, chase, send, demo) and `mailbot db upgrade` call
``migrate(url)``; every other command calls ``require_current_schema(url)``, which never
writes and says when an upgrade is due. A database that cannot be reached becomes one
``DatabaseUnavailable`` line naming ``database.url`` and the driver's reason.

Alembic is configured in code (no alembic.ini): the scripts live next to this module in
``migrations/``. Two processes starting at once are serialised: SQLite by its write lock
(BEGIN IMMEDIATE), PostgreSQL by a transaction-scoped advisory lock.

Alembic (with mako and pygments) took 0.4 s to import, on every command, though a migration
is rarely due: so the schema's revision is read with one plain SELECT, the newest revision
from the scripts' own ``revision =`` lines, and alembic is imported only when they differ.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, inspect, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import DatabaseError, InterfaceError, OperationalError

from mailbot.adapters.sqlalchemy_store.engine import BUSY_TIMEOUT_SECONDS, make_engine, sqlite_file
from mailbot.domain.errors import PermanentError

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).resolve().with_name("migrations")
_ADVISORY_LOCK_KEY = 0x6D61696C626F74  # "mailbot": the same number in every process
# `revision: str = "0004"` / `down_revision: str | None = None` in a migration script.
_REVISION_LINE = re.compile(r"^(revision|down_revision)\s*(?::[^=\n]*)?=\s*(.*?)\s*$", re.MULTILINE)
_PLAIN_VALUE = re.compile(r"""^(?:"([^"]+)"|'([^']+)'|None)$""")


def alembic_config(connection: Connection | None = None, url: str | URL | None = None) -> Config:
    from alembic.config import Config

    config = Config()
    # ConfigParser treats % as interpolation; a path may contain one.
    config.set_main_option("script_location", str(MIGRATIONS).replace("%", "%%"))
    if url is not None:
        text = url if isinstance(url, str) else url.render_as_string(hide_password=False)
        config.set_main_option("sqlalchemy.url", text.replace("%", "%%"))
    config.attributes["connection"] = connection
    return config


class DatabaseUnavailable(PermanentError):
    """The database at database.url cannot be reached or opened; the message says why."""

    def __init__(self, source: str, url: str | URL, reason: str):
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


def shown(url: str | URL) -> str:
    """The URL with its password hidden, for logs and messages."""
    return make_url(url).render_as_string(hide_password=True)


@contextmanager
def reaching(url: str | URL, source: str = "config") -> Iterator[None]:
    """Turns a refused connection, an unknown role or database, or an unopenable file into
    one ``DatabaseUnavailable`` line instead of a driver traceback."""
    try:
        yield
    except (OperationalError, InterfaceError, DatabaseError) as error:
        raise DatabaseUnavailable(source, url, str(error.orig or error)) from error


def migrate(url: str | URL, source: str = "config", busy_timeout: float = BUSY_TIMEOUT_SECONDS) -> None:
    """Upgrades the database at ``url`` to the newest schema; a no-op when it is there."""
    engine = make_engine(url, busy_timeout=busy_timeout)
    try:
        with reaching(url, source):
            with engine.connect() as connection:
                if current_revision(connection) == head_revision():
                    return
            from alembic import command

            with engine.begin() as connection:
                if connection.dialect.name == "postgresql":
                    connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_ADVISORY_LOCK_KEY})")
                command.upgrade(alembic_config(connection), "head")
    finally:
        engine.dispose()


def schema_status(url: str | URL, source: str = "config",
                  busy_timeout: float = BUSY_TIMEOUT_SECONDS) -> SchemaStatus:
    """Where the schema stands, without writing anything (not even a new SQLite file)."""
    path = sqlite_file(url)
    if path is not None and not path.exists():
        return SchemaStatus(None, head_revision(), exists=False)
    engine = make_engine(url, busy_timeout=busy_timeout)
    try:
        with reaching(url, source), engine.connect() as connection:
            return SchemaStatus(current_revision(connection), head_revision())
    finally:
        engine.dispose()


def require_current_schema(url: str | URL, source: str = "config",
                           busy_timeout: float = BUSY_TIMEOUT_SECONDS) -> None:
    """For the commands that never migrate: stop, saying so, when an upgrade is due."""
    status = schema_status(url, source, busy_timeout)
    if status.upgrade_due:
        raise SchemaOutOfDate(f"{source}: database.url: {shown(url)}: {status.describe()}")


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
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(connection: Connection) -> str | None:
    """The schema's revision, by one SELECT of alembic's own table (None: an empty database);
    a database holding several (branches) is left to alembic to judge."""
    if not inspect(connection).has_table("alembic_version"):
        return None
    versions = connection.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    if len(versions) <= 1:
        return versions[0] if versions else None
    from alembic.runtime.migration import MigrationContext

    return MigrationContext.configure(connection).get_current_revision()
