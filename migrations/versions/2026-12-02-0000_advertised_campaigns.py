"""Campaigns may be advertised: their public named codes are offered to every shopper by
POST /v1/qualifications, as automatic promotions and the customer's own codes are. Codes get
partial indexes for both lookups: a customer's codes (until now a scan of every code), and the
named codes nobody owns of a campaign (without walking its pool).

Revision ID: 7d1e3f5a9c24
Revises: 2a6c8e4f1b93
Create Date: 2026-12-02 00:00:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "7d1e3f5a9c24"
down_revision: str | None = "2a6c8e4f1b93"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "campaigns",
        sa.Column("advertised", sa.Boolean(), server_default=sa.false(), nullable=False),
    )
    op.create_index(
        "ix_campaigns_advertised",
        "campaigns",
        ["id"],
        postgresql_where=sa.text("advertised AND status = 'active'"),
    )
    op.create_index(
        "ix_codes_customer_id",
        "codes",
        ["customer_id"],
        postgresql_where=sa.text("customer_id IS NOT NULL"),
    )
    op.create_index(
        "ix_codes_public",
        "codes",
        ["campaign_id"],
        postgresql_where=sa.text("source = 'named' AND customer_id IS NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_codes_public", table_name="codes")
    op.drop_index("ix_codes_customer_id", table_name="codes")
    op.drop_index("ix_campaigns_advertised", table_name="campaigns")
    op.drop_column("campaigns", "advertised")
