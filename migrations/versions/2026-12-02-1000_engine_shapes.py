"""The engine's new shapes: what an exclusive campaign does when another would also apply
(campaigns.exclusive_conflict), best-of groups (campaigns.best_of), and the chosen shipping
method a redemption was priced with (redemptions.shipping_method, for partial returns).
Effects, conditions, rounding and calculation base live in campaigns.rules (JSON); a field
missing there takes its default, so existing rows need no rewrite.

Revision ID: 4e8a1c6d2f95
Revises: 6a2c8d4f1b73
Create Date: 2026-12-02 10:00:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "4e8a1c6d2f95"
down_revision: str | None = "6a2c8d4f1b73"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "campaigns",
        sa.Column(
            "exclusive_conflict",
            sa.String(length=16),
            server_default=sa.text("'priority'"),
            nullable=False,
        ),
    )
    op.create_check_constraint(
        op.f("ck_campaigns_known_exclusive_conflict"),
        "campaigns",
        "exclusive_conflict IN ('priority', 'refuse')",
    )
    op.add_column("campaigns", sa.Column("best_of", sa.Text(), nullable=True))
    op.add_column("redemptions", sa.Column("shipping_method", sa.Text(), nullable=True))


def downgrade() -> None:
    op.drop_column("redemptions", "shipping_method")
    op.drop_column("campaigns", "best_of")
    op.drop_constraint(op.f("ck_campaigns_known_exclusive_conflict"), "campaigns")
    op.drop_column("campaigns", "exclusive_conflict")
