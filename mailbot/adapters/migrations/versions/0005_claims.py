"""Claims and leases: which send pass holds an outgoing row, and which worker works each
mailbox and the deadline pass, until when.

Any number of `mailbot run` processes may share one PostgreSQL database (issue 14). Each
mailbox, and the deadline pass, is worked by the one worker holding its lease; the holder
renews it, and when a worker dies its leases run out and another takes them. Each worker also
holds a lease on its own name, so the workers can count each other and share the mailboxes.
An outgoing row's claim is kept apart from when it is due, because a claim is timed by the
worker's real clock and must run out even for a worker that pretends the time with --now.

Revision ID: 0005_claims
Revises: 0004
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_claims"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("outbox", sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "leases",
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("holder", sa.String(200), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("since", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_leases"),
    )


def downgrade() -> None:
    op.drop_table("leases")
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("claimed_until")
