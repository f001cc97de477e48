"""Brings a database's schema up to date; the app calls ``migrate(url)`` at start-up.

Alembic is configured in code (no alembic.ini): the scripts live next to this module in
``migrations/``. Two processes starting at once are serialised: SQLite by its write lock
(BEGIN IMMEDIATE), PostgreSQL by a transaction-scoped advisory lock.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection
from sqlalchemy.engine import URL

from mailbot.adapters.sqlalchemy_store.engine import make_engine

MIGRATIONS = Path(__file__).resolve().with_name("migrations")
_ADVISORY_LOCK_KEY = 0x6D61696C626F74  # "mailbot": the same number in every process


def alembic_config(connection: Connection | None = None, url: str | URL | None = None) -> Config:
    config = Config()
    # ConfigParser treats % as interpolation; a path may contain one.
    config.set_main_option("script_location", str(MIGRATIONS).replace("%", "%%"))
    if url is not None:
        text = url if isinstance(url, str) else url.render_as_string(hide_password=False)
        config.set_main_option("sqlalchemy.url", text.replace("%", "%%"))
    config.attributes["connection"] = connection
    return config


def migrate(url: str | URL) -> None:
    """Upgrades the database at ``url`` to the newest schema; a no-op when it is there."""
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_ADVISORY_LOCK_KEY})")
            command.upgrade(alembic_config(connection), "head")
    finally:
        engine.dispose()


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()
