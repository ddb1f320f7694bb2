"""Partial returns: a redemption keeps the cart it was redeemed on (`lines`) and each item the
terms it applied with (`terms`: rules and stacking as they were), so a return can apply the
same promotions again to what stays of the order. `returned_quantities` counts what was
returned of each line (NULL: nothing yet); `redemption_returns` keeps each return's answer.
Redemptions recorded before have neither, and cannot be partly returned (only rolled back).
`ledger_lots.taken_back`: what partial returns took back of a credit (points, cashback), so
that lifetime points count only what was kept.

Revision ID: 7d2f9a4c1e63
Revises: 3c9a7e1d5b48
Create Date: 2026-12-02 03:00:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "7d2f9a4c1e63"
down_revision: str | None = "3c9a7e1d5b48"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("redemptions", sa.Column("lines", postgresql.JSONB(), nullable=True))
    op.add_column(
        "redemptions",
        sa.Column("returned_quantities", postgresql.ARRAY(sa.Integer()), nullable=True),
    )
    op.add_column("redemption_items", sa.Column("terms", postgresql.JSONB(), nullable=True))
    op.add_column(
        "ledger_lots",
        sa.Column("taken_back", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
    )
    op.create_check_constraint(
        op.f("ck_ledger_lots_taken_back_within_amount"),
        "ledger_lots",
        "taken_back >= 0 AND taken_back <= amount",
    )
    op.create_table(
        "redemption_returns",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("redemption_id", sa.Uuid(), nullable=False),
        sa.Column("api_key_id", sa.Uuid(), nullable=False),
        sa.Column("refund_amount", sa.BigInteger(), nullable=False),
        sa.Column("result", postgresql.JSONB(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "refund_amount >= 0", name=op.f("ck_redemption_returns_refund_not_negative")
        ),
        sa.ForeignKeyConstraint(
            ["redemption_id"],
            ["redemptions.id"],
            name=op.f("fk_redemption_returns_redemption_id_redemptions"),
        ),
        sa.ForeignKeyConstraint(
            ["api_key_id"], ["api_keys.id"], name=op.f("fk_redemption_returns_api_key_id_api_keys")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_redemption_returns")),
    )
    op.create_index(
        "ix_redemption_returns_redemption_id_created_at",
        "redemption_returns",
        ["redemption_id", "created_at"],
    )


def downgrade() -> None:
    op.drop_index("ix_redemption_returns_redemption_id_created_at", "redemption_returns")
    op.drop_table("redemption_returns")
    op.drop_constraint(op.f("ck_ledger_lots_taken_back_within_amount"), "ledger_lots")
    op.drop_column("ledger_lots", "taken_back")
    op.drop_column("redemption_items", "terms")
    op.drop_column("redemptions", "returned_quantities")
    op.drop_column("redemptions", "lines")
