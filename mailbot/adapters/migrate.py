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
Those two live in ``schema_revision``, free of SQLAlchemy, where `mailbot cases` on SQLite
checks the schema with sqlite3 alone (issue 18).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from sqlalchemy import Connection
from sqlalchemy.engine import URL
from sqlalchemy.exc import DatabaseError, InterfaceError, OperationalError

from mailbot.adapters.schema_revision import (
    MIGRATIONS,
    DatabaseUnavailable,
    SchemaOutOfDate,
    SchemaStatus,
    head_revision,
    refuse_when_due,
    shown,
    stored_revisions,
)
from mailbot.adapters.sqlalchemy_store.engine import BUSY_TIMEOUT_SECONDS, make_engine, sqlite_file
from mailbot.adapters.sqlalchemy_store.sql import statements

if TYPE_CHECKING:
    from alembic.config import Config

__all__ = ["DatabaseUnavailable", "SchemaOutOfDate", "SchemaStatus", "head_revision",
           "migrate", "require_current_schema", "schema_status", "shown"]

_ADVISORY_LOCK_KEY = 0x6D61696C626F74  # "mailbot": the same number in every process


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
    refuse_when_due(schema_status(url, source, busy_timeout), url, source)


def _alembic_head() -> str | None:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(connection: Connection) -> str | None:
    """The schema's revision, by one SELECT of alembic's own table (None: an empty database);
    a database holding several (branches) is left to alembic to judge."""
    versions = stored_revisions(statements(connection), connection.dialect.name)
    if versions is None or len(versions) <= 1:
        return versions[0] if versions else None
    from alembic.runtime.migration import MigrationContext

    return MigrationContext.configure(connection).get_current_revision()
