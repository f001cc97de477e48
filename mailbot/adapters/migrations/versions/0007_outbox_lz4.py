"""Outgoing mail is compressed with lz4 inside PostgreSQL, not with its default pglz.

A deadline pass stores a chunk's rendered emails (about 10 KB each) in one INSERT, and
PostgreSQL compressing each with pglz was half of that INSERT's time: 37 -> 18 ms for 200
emails with lz4 (bench/deadlines.py, issue 19). Values already stored keep their compression
and read as before. SQLite stores values as they come, and a PostgreSQL older than 14 or built
without lz4 keeps pglz: there is nothing to change there.

Revision ID: 0007_outbox_lz4
Revises: 0006_intake
Create Date: 2026-12-05
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op
from sqlalchemy.engine import Connection

revision: str = "0007_outbox_lz4"
down_revision: str | None = "0006_intake"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if _lz4_available(op.get_bind()):
        op.execute("ALTER TABLE outbox ALTER COLUMN data SET COMPRESSION lz4")


def downgrade() -> None:
    if _lz4_available(op.get_bind()):
        op.execute("ALTER TABLE outbox ALTER COLUMN data SET COMPRESSION default")


def _lz4_available(bind: Connection) -> bool:
    if bind.dialect.name != "postgresql":
        return False
    # The setting lists the methods this server was built with; it is missing before 14.
    row = bind.exec_driver_sql("SELECT enumvals FROM pg_settings"
                               " WHERE name = 'default_toast_compression'").first()
    return row is not None and "lz4" in row[0]
