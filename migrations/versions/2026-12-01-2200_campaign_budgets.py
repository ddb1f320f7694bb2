"""Campaign budgets: how many redemptions a campaign may have in all, and how much it may take
off orders in each currency, with what it has used so far; and what a campaign does with a
discount that would cross its money budget.

campaign_budgets holds one row per capped unit ('redemptions', or a currency code for the
amount taken off), written by redeem's own statement under a guard that keeps used within cap
(and a CHECK behind it). Redemption items say what they added to their campaign's budgets (a
redemption, an amount), so that a rollback gives back exactly that; a cap set later starts
from what the live redemptions used and marks their items (repositories/campaigns.py).

Revision ID: 9f4d6b2e8a17
Revises: 4b7e2c9a1d35
Create Date: 2026-12-01 22:00:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "9f4d6b2e8a17"
down_revision: str | None = "4b7e2c9a1d35"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "campaign_budgets",
        sa.Column("campaign_id", sa.Uuid(), nullable=False),
        sa.Column("unit", sa.String(length=16), nullable=False),
        sa.Column("cap", sa.BigInteger(), nullable=False),
        sa.Column("used", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.CheckConstraint("cap > 0", name=op.f("ck_campaign_budgets_cap_positive")),
        sa.CheckConstraint(
            "used >= 0 AND used <= cap", name=op.f("ck_campaign_budgets_used_within_cap")
        ),
        sa.CheckConstraint(
            "unit = 'redemptions' OR unit ~ '^[A-Z]{3}$'",
            name=op.f("ck_campaign_budgets_known_unit"),
        ),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaigns.id"],
            name=op.f("fk_campaign_budgets_campaign_id_campaigns"),
        ),
        sa.PrimaryKeyConstraint("campaign_id", "unit", name=op.f("pk_campaign_budgets")),
    )
    op.add_column(
        "campaigns",
        sa.Column(
            "over_budget", sa.String(length=16), server_default=sa.text("'refuse'"), nullable=False
        ),
    )
    op.create_check_constraint(
        op.f("ck_campaigns_known_over_budget"), "campaigns", "over_budget IN ('refuse', 'reduce')"
    )
    op.add_column(
        "redemption_items",
        sa.Column("budget_redemption", sa.Boolean(), server_default=sa.false(), nullable=False),
    )
    op.add_column("redemption_items", sa.Column("budget_amount", sa.BigInteger()))


def downgrade() -> None:
    op.drop_column("redemption_items", "budget_amount")
    op.drop_column("redemption_items", "budget_redemption")
    op.drop_constraint(op.f("ck_campaigns_known_over_budget"), "campaigns", type_="check")
    op.drop_column("campaigns", "over_budget")
    op.drop_table("campaign_budgets")
