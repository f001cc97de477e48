"""An index of the inbound messages stored but not yet acted on.

Intake now stores a whole batch, moves it out of the mailbox, then acts on what is pending;
this partial index serves that query.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PENDING = "status = 'received'"


def upgrade() -> None:
    op.create_index("ix_inbound_pending", "inbound_messages", ["mailbox", "id"],
                    sqlite_where=sa.text(PENDING), postgresql_where=sa.text(PENDING))


def downgrade() -> None:
    op.drop_index("ix_inbound_pending", table_name="inbound_messages")
