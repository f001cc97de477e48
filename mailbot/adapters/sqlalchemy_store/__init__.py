"""The database store (SQLAlchemy 2): cases, inbound log, outbox and state behind the
``UnitOfWork`` port, on SQLite or PostgreSQL. Migrations live in ``adapters/migrations``
and run through ``mailbot.adapters.migrate.migrate``.
"""

from mailbot.adapters.sqlalchemy_store.engine import make_engine, make_session_factory
from mailbot.adapters.sqlalchemy_store.unit_of_work import SqlAlchemyUnitOfWork

__all__ = ["SqlAlchemyUnitOfWork", "make_engine", "make_session_factory"]
