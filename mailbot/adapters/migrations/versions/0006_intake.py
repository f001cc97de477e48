"""One message delivered to two partnership mailboxes is stored, and acted on, in each.

The inbound log held a message's bytes unique across every mailbox, so the second
partnership's copy was taken for a replay and never acted on (issue 14). The same bytes
are now the same message only within one mailbox.

Revision ID: 0006_intake
Revises: 0005_claims
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0006_intake"
down_revision: str | None = "0005_claims"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("inbound_messages") as batch:
        batch.drop_constraint("uq_inbound_messages_sha256", type_="unique")
        batch.create_unique_constraint("uq_inbound_messages_mailbox_sha256", ["mailbox", "sha256"])


def downgrade() -> None:
    # Copies of one message kept for several mailboxes cannot all stay under the old rule:
    # every copy but the first is removed.
    op.execute("DELETE FROM inbound_messages WHERE id NOT IN"
               " (SELECT MIN(id) FROM inbound_messages GROUP BY sha256)")
    with op.batch_alter_table("inbound_messages") as batch:
        batch.drop_constraint("uq_inbound_messages_mailbox_sha256", type_="unique")
        batch.create_unique_constraint("uq_inbound_messages_sha256", ["sha256"])
