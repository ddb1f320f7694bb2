"""Redemptions listed by order, customer, code or campaign, newest first; campaigns listed by
kind.

redemption_items get their redemption's created_at, so that a code's or a campaign's
redemptions are one index scan in time order: (code_id, created_at, redemption_id) replaces the
index on code_id alone (which also served the codes' foreign key, and still does), and
(campaign_id, created_at, redemption_id) is new. Redemptions get (created_at, id), and
(customer_id, created_at, id) and (order_id, created_at, id) each only over rows that have
one. Campaigns get (kind, created_at, id): the marketers' list stays a walk in creation order
however many one-code support campaigns there are.

The backfill rewrites redemption_items, and the CREATE INDEX statements block writes to both
tables while they run: on a large table, add the column and build the indexes CONCURRENTLY by
hand first.

Revision ID: 4b7e2c9a1d35
Revises: 8c3f1a7d2e90
Create Date: 2026-12-01 21:00:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "4b7e2c9a1d35"
down_revision: str | None = "8c3f1a7d2e90"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "redemption_items", sa.Column("created_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.execute(
        "UPDATE redemption_items AS i SET created_at = r.created_at"
        " FROM redemptions AS r WHERE r.id = i.redemption_id"
    )
    op.alter_column(
        "redemption_items", "created_at", nullable=False, server_default=sa.text("now()")
    )
    op.drop_index("ix_redemption_items_code_id", table_name="redemption_items")
    op.create_index(
        "ix_redemption_items_code_id_created_at",
        "redemption_items",
        ["code_id", "created_at", "redemption_id"],
    )
    op.create_index(
        "ix_redemption_items_campaign_id_created_at",
        "redemption_items",
        ["campaign_id", "created_at", "redemption_id"],
    )
    op.create_index("ix_redemptions_created_at_id", "redemptions", ["created_at", "id"])
    op.create_index(
        "ix_redemptions_customer_id_created_at",
        "redemptions",
        ["customer_id", "created_at", "id"],
        postgresql_where=sa.text("customer_id IS NOT NULL"),
    )
    op.create_index(
        "ix_redemptions_order_id_created_at",
        "redemptions",
        ["order_id", "created_at", "id"],
        postgresql_where=sa.text("order_id IS NOT NULL"),
    )
    op.create_index("ix_campaigns_kind_created_at_id", "campaigns", ["kind", "created_at", "id"])


def downgrade() -> None:
    op.drop_index("ix_campaigns_kind_created_at_id", table_name="campaigns")
    op.drop_index("ix_redemptions_order_id_created_at", table_name="redemptions")
    op.drop_index("ix_redemptions_customer_id_created_at", table_name="redemptions")
    op.drop_index("ix_redemptions_created_at_id", table_name="redemptions")
    op.drop_index("ix_redemption_items_campaign_id_created_at", table_name="redemption_items")
    op.drop_index("ix_redemption_items_code_id_created_at", table_name="redemption_items")
    op.create_index("ix_redemption_items_code_id", "redemption_items", ["code_id"])
    op.drop_column("redemption_items", "created_at")
