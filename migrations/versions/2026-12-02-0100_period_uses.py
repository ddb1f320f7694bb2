"""Limits per period: one counter per campaign, code or customer and period start
(period_uses), added to by redeem's own statement under a guard that keeps it within its limit;
redemptions keep which counters they added to (period_takes), so that a rollback takes exactly
those back. The limits themselves live in the campaign's rules ("periods").

Revision ID: 5e8b2d7c4f61
Revises: 7d1e3f5a9c24
Create Date: 2026-12-02 01:00:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "5e8b2d7c4f61"
down_revision: str | None = "7d1e3f5a9c24"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "period_uses",
        sa.Column("campaign_id", sa.Uuid(), nullable=False),
        sa.Column("per", sa.String(length=16), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("period", sa.String(length=8), nullable=False),
        sa.Column("starts", sa.Date(), nullable=False),
        sa.Column("used", sa.Integer(), nullable=False),
        sa.CheckConstraint("used >= 0", name=op.f("ck_period_uses_used_not_negative")),
        sa.CheckConstraint(
            "per IN ('campaign', 'code', 'customer')", name=op.f("ck_period_uses_known_per")
        ),
        sa.CheckConstraint(
            "period IN ('day', 'week', 'month')", name=op.f("ck_period_uses_known_period")
        ),
        sa.ForeignKeyConstraint(
            ["campaign_id"], ["campaigns.id"], name=op.f("fk_period_uses_campaign_id_campaigns")
        ),
        sa.PrimaryKeyConstraint(
            "campaign_id", "per", "subject", "period", "starts", name=op.f("pk_period_uses")
        ),
    )
    op.add_column(
        "redemptions",
        sa.Column(
            "period_takes",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'[]'::jsonb"),
            nullable=False,
        ),
    )


def downgrade() -> None:
    op.drop_column("redemptions", "period_takes")
    op.drop_table("period_uses")
