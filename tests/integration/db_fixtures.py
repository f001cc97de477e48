"""Database fixtures shared by every integration test that needs the store.

``database_url`` is an empty database, once for SQLite (a file in tmp_path) and once for
PostgreSQL (a fresh schema in the ``test`` database on 127.0.0.1, dropped afterwards).
``session_factory`` migrates it and hands out sessions; ``uow_factory`` makes units of work.
``store_factory`` makes units of work of every implementation of the storage ports: the two
databases and the unit tests' hand-written fake, for the contract tests all three must pass.
PostgreSQL that cannot be reached is a skip, except under CI=true, where it is a failure.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import Engine, create_engine
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from mailbot.adapters.migrate import migrate
from mailbot.adapters.sqlalchemy_store import (
    SqlAlchemyUnitOfWork,
    make_engine,
    make_session_factory,
)

POSTGRES_URL = os.environ.get("MAILBOT_TEST_POSTGRES_URL",
                              "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def skip_or_fail(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} (CI=true, so this is a failure, not a skip)")
    pytest.skip(reason)


def _postgres_admin() -> Engine:
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT",
                          connect_args={"connect_timeout": 3})
    try:
        with admin.connect():
            pass
    except OperationalError as error:
        admin.dispose()
        skip_or_fail(f"PostgreSQL is not reachable at {POSTGRES_URL}: {error.orig}")
    return admin


def postgres_schema_url() -> Iterator[str]:
    """A URL whose connections see only a new, empty schema; the schema is dropped after."""
    admin = _postgres_admin()
    schema = f"mailbot_test_{uuid.uuid4().hex[:12]}"
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    url = make_url(POSTGRES_URL).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'mailbot.sqlite3'}"
    else:
        yield from postgres_schema_url()


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """``database_url``'s PostgreSQL alone, for what happens only there."""
    yield from postgres_schema_url()


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    migrate(database_url)
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def session_factory(engine: Engine) -> sessionmaker[Session]:
    return make_session_factory(engine)


@pytest.fixture
def uow_factory(session_factory: sessionmaker[Session]) -> Callable[[], SqlAlchemyUnitOfWork]:
    return lambda: SqlAlchemyUnitOfWork(session_factory)


@pytest.fixture(params=["sqlite", "postgresql", "fake"])
def store_factory(request: pytest.FixtureRequest, tmp_path) -> Iterator[Callable[[], object]]:
    if request.param == "fake":
        from tests.unit.fakes import FakeDatabase, FakeUnitOfWork

        database = FakeDatabase()
        yield lambda: FakeUnitOfWork(database)
        return
    if request.param == "sqlite":
        yield from _sql_stores(f"sqlite:///{tmp_path / 'mailbot.sqlite3'}")
    else:
        for url in postgres_schema_url():
            yield from _sql_stores(url)


def _sql_stores(url: str) -> Iterator[Callable[[], SqlAlchemyUnitOfWork]]:
    migrate(url)
    engine = make_engine(url)
    sessions = make_session_factory(engine)
    yield lambda: SqlAlchemyUnitOfWork(sessions)
    engine.dispose()
