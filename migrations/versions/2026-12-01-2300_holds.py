"""Holds: a redemption taken for a short time while payment runs ('held', with expires_at),
then redeemed ('succeeded'), released ('released') or let lapse ('expired'). A hold consumes
what a redemption consumes, through the same statement, so every limit counts it. Campaigns say
whether their holds may still be redeemed while they are paused (honour_holds).

Revision ID: 2a6c8e4f1b93
Revises: 9f4d6b2e8a17
Create Date: 2026-12-01 23:00:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "2a6c8e4f1b93"
down_revision: str | None = "9f4d6b2e8a17"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_STATUS = "ck_redemptions_known_status"


def upgrade() -> None:
    op.add_column("redemptions", sa.Column("expires_at", sa.DateTime(timezone=True)))
    op.drop_constraint(op.f(_STATUS), "redemptions", type_="check")
    op.create_check_constraint(
        op.f(_STATUS),
        "redemptions",
        "status IN ('succeeded', 'rolled_back', 'held', 'released', 'expired')",
    )
    op.create_check_constraint(
        op.f("ck_redemptions_held_until"),
        "redemptions",
        "status NOT IN ('held', 'released', 'expired') OR expires_at IS NOT NULL",
    )
    op.create_index(
        "ix_redemptions_held_expires_at",
        "redemptions",
        ["expires_at"],
        postgresql_where=sa.text("status = 'held'"),
    )
    op.add_column(
        "campaigns",
        sa.Column("honour_holds", sa.Boolean(), server_default=sa.true(), nullable=False),
    )


def downgrade() -> None:
    op.drop_column("campaigns", "honour_holds")
    op.drop_index("ix_redemptions_held_expires_at", table_name="redemptions")
    op.drop_constraint(op.f("ck_redemptions_held_until"), "redemptions", type_="check")
    op.drop_constraint(op.f(_STATUS), "redemptions", type_="check")
    op.create_check_constraint(
        op.f(_STATUS), "redemptions", "status IN ('succeeded', 'rolled_back')"
    )
    op.drop_column("redemptions", "expires_at")
