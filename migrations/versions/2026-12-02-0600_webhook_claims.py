"""Webhook deliveries: `claims` (raised by every claim and replay, never reset) so that only
the latest claim records an attempt's outcome, and an index on event_id for the purge and its
foreign key.

Revision ID: 5f3a8e2c7b94
Revises: 2b8d6f1a9c37
Create Date: 2026-12-02 06:00:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "5f3a8e2c7b94"
down_revision: str | None = "2b8d6f1a9c37"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "webhook_deliveries",
        sa.Column("claims", sa.Integer(), server_default=sa.text("0"), nullable=False),
    )
    op.create_index("ix_webhook_deliveries_event_id", "webhook_deliveries", ["event_id"])


def downgrade() -> None:
    op.drop_index("ix_webhook_deliveries_event_id", "webhook_deliveries")
    op.drop_column("webhook_deliveries", "claims")
