"""Referral programs may reward the advocate with a code bound to them: a single-use code of
another campaign (advocate_campaign_id), valid advocate_code_days; a referral keeps the code
it gave (reward_code_id).

Revision ID: 3d7b9f2e6a41
Revises: 8c4e1f7a2d59
Create Date: 2026-12-02 08:00:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "3d7b9f2e6a41"
down_revision: str | None = "8c4e1f7a2d59"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_POINTS = (
    "(advocate_points > 0 AND advocate_program_id IS NOT NULL"
    " AND advocate_amount IS NULL AND advocate_currency IS NULL"
    " AND advocate_campaign_id IS NULL)"
)
_WALLET = (
    "(advocate_amount > 0 AND advocate_currency IS NOT NULL"
    " AND advocate_points IS NULL AND advocate_program_id IS NULL"
    " AND advocate_campaign_id IS NULL)"
)
_CODE = (
    "(advocate_campaign_id IS NOT NULL AND advocate_code_days > 0"
    " AND advocate_points IS NULL AND advocate_program_id IS NULL"
    " AND advocate_amount IS NULL AND advocate_currency IS NULL)"
)


def upgrade() -> None:
    op.add_column("referral_programs", sa.Column("advocate_campaign_id", sa.Uuid(), nullable=True))
    op.add_column("referral_programs", sa.Column("advocate_code_days", sa.Integer(), nullable=True))
    op.create_foreign_key(
        op.f("fk_referral_programs_advocate_campaign_id_campaigns"),
        "referral_programs",
        "campaigns",
        ["advocate_campaign_id"],
        ["id"],
    )
    op.drop_constraint(op.f("ck_referral_programs_one_advocate_reward"), "referral_programs")
    op.create_check_constraint(
        op.f("ck_referral_programs_one_advocate_reward"),
        "referral_programs",
        f"{_POINTS} OR {_WALLET} OR {_CODE}",
    )
    op.add_column("referrals", sa.Column("reward_code_id", sa.Uuid(), nullable=True))
    op.create_foreign_key(
        op.f("fk_referrals_reward_code_id_codes"), "referrals", "codes", ["reward_code_id"], ["id"]
    )


def downgrade() -> None:
    op.drop_constraint(op.f("fk_referrals_reward_code_id_codes"), "referrals")
    op.drop_column("referrals", "reward_code_id")
    op.drop_constraint(op.f("ck_referral_programs_one_advocate_reward"), "referral_programs")
    op.execute("DELETE FROM referral_programs WHERE advocate_campaign_id IS NOT NULL")
    op.create_check_constraint(
        op.f("ck_referral_programs_one_advocate_reward"),
        "referral_programs",
        "(advocate_points > 0 AND advocate_program_id IS NOT NULL"
        " AND advocate_amount IS NULL AND advocate_currency IS NULL)"
        " OR (advocate_amount > 0 AND advocate_currency IS NOT NULL"
        " AND advocate_points IS NULL AND advocate_program_id IS NULL)",
    )
    op.drop_constraint(
        op.f("fk_referral_programs_advocate_campaign_id_campaigns"), "referral_programs"
    )
    op.drop_column("referral_programs", "advocate_code_days")
    op.drop_column("referral_programs", "advocate_campaign_id")
