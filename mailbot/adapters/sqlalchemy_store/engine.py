"""Database engines and sessions: SQLite (the embedded default) and PostgreSQL (psycopg 3).

SQLite gets write-ahead logging, foreign keys and a busy timeout, and every transaction
starts with BEGIN IMMEDIATE: it takes the write lock at once, so two processes can never
both read a counter or a case and then race to write it. PostgreSQL relies on row locks
(SELECT ... FOR UPDATE, INSERT ... ON CONFLICT) instead.

The SQLite file holds children's names, dates of birth and the raw referrals, so its folder
is made 0700 and the file 0600 before SQLite first opens it; SQLite gives its -wal and -shm
companions the database file's permissions.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.orm import Session, sessionmaker

from mailbot.domain.errors import ConfigError

BUSY_TIMEOUT_SECONDS = 30.0
CONNECT_TIMEOUT_SECONDS = 10


@dataclass(frozen=True)
class PoolLimits:
    """How many connections one process holds: ``size`` kept open, up to ``overflow`` more
    under load, and how long a thread waits for one before its transaction fails."""

    size: int = 5
    overflow: int = 5
    timeout: float = 30.0

    def arguments(self) -> dict[str, Any]:
        return {"pool_size": self.size, "max_overflow": self.overflow, "pool_timeout": self.timeout}


def make_engine(url: str | URL, *, echo: bool = False, pool: PoolLimits | None = None,
                busy_timeout: float = BUSY_TIMEOUT_SECONDS) -> Engine:
    """An engine for ``url``; ``postgresql://`` is taken to mean psycopg 3."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    limits = (pool or PoolLimits()).arguments()
    if backend == "sqlite":
        return _sqlite_engine(parsed, echo, limits, busy_timeout)
    if backend == "postgresql":
        if parsed.drivername == "postgresql":
            parsed = parsed.set(drivername="postgresql+psycopg")
        return create_engine(parsed, echo=echo, pool_pre_ping=True, **limits,
                             connect_args={"connect_timeout": CONNECT_TIMEOUT_SECONDS})
    raise ConfigError("config", "database.url", f"unsupported database {backend!r}",
                      "Use sqlite:///path or postgresql+psycopg://user@host/dbname.")


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    # Loaded rows stay readable after commit; the unit of work keeps using them.
    return sessionmaker(engine, expire_on_commit=False)


def sqlite_file(url: str | URL) -> Path | None:
    """The file of a SQLite URL; None for PostgreSQL, :memory: and file: URIs."""
    parsed = make_url(url)
    database = parsed.database or ""
    if parsed.get_backend_name() != "sqlite" or database in ("", ":memory:") or database.startswith("file:"):
        return None
    return Path(database)


def create_private(path: Path) -> None:
    """Makes the folder (0700) and an empty file (0600) where none exist yet; SQLite takes an
    empty file for a new database. What exists already is left as it is (and warned about at
    start by ``file_safety``)."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


def _sqlite_engine(url: URL, echo: bool, limits: dict[str, Any], busy_timeout: float) -> Engine:
    path = sqlite_file(url)
    if path is not None:
        create_private(path)
    else:
        limits = {}  # :memory: and file: URIs keep SQLAlchemy's one-connection-per-thread pool
    engine = create_engine(url, echo=echo, connect_args={"timeout": busy_timeout}, **limits)
    event.listen(engine, "connect",
                 lambda connection, record: _configure_sqlite_connection(connection, busy_timeout))
    event.listen(engine, "begin", _begin_immediate)
    return engine


def _configure_sqlite_connection(dbapi_connection: Any, busy_timeout: float) -> None:
    # The sqlite3 module's own transaction handling starts transactions late and as
    # DEFERRED; switch it off so _begin_immediate decides how each transaction begins.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout * 1000)}")
    finally:
        cursor.close()


def _begin_immediate(connection: Any) -> None:
    connection.exec_driver_sql("BEGIN IMMEDIATE")
