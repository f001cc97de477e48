"""What command security needs kept: who sent a referral and when it was accepted, the
command messages already acted on (so a replay is refused), and the addresses the
partnership has vouched for (so mail to a stranger named in a form waits for acceptance).

Cases opened before this revision were already mailing everyone on them, so they count as
accepted when they were opened.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("cases") as batch:
        batch.add_column(sa.Column("submitted_by", sa.String(320), nullable=False,
                                   server_default=""))
        batch.add_column(sa.Column("accepted_at", sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE cases SET accepted_at = opened_at")
    op.create_table(
        "command_messages",
        sa.Column("mailbox", sa.String(100), nullable=False),
        sa.Column("key", sa.String(80), nullable=False),
        sa.Column("case_reference", sa.String(40), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("mailbox", "key", name="pk_command_messages"),
    )
    op.create_table(
        "known_addresses",
        sa.Column("mailbox", sa.String(100), nullable=False),
        sa.Column("address", sa.String(320), nullable=False),
        sa.Column("vouched_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("mailbox", "address", name="pk_known_addresses"),
    )


def downgrade() -> None:
    op.drop_table("known_addresses")
    op.drop_table("command_messages")
    with op.batch_alter_table("cases") as batch:
        batch.drop_column("accepted_at")
        batch.drop_column("submitted_by")
