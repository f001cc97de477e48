"""Alembic's environment for mailbot: run by ``mailbot.adapters.migrate``, never by hand-kept
ini files. The connection comes from ``config.attributes["connection"]`` when the caller
has one open, else from ``sqlalchemy.url`` through mailbot's own ``make_engine``.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from mailbot.adapters.sqlalchemy_store.engine import make_engine
from mailbot.adapters.sqlalchemy_store.orm import Base

config = context.config
target_metadata = Base.metadata


def _run(connection: Connection) -> None:
    # SQLite cannot ALTER most things in place; batch mode rebuilds the table instead.
    context.configure(connection=connection, target_metadata=target_metadata,
                      render_as_batch=connection.dialect.name == "sqlite", compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = make_engine(config.get_main_option("sqlalchemy.url") or "")
    try:
        with engine.begin() as new_connection:
            _run(new_connection)
    finally:
        engine.dispose()


def run_migrations_offline() -> None:
    context.configure(url=config.get_main_option("sqlalchemy.url"),
                      target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
