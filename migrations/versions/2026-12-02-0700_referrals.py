"""Referral programs: a campaign of kind 'referral' gives the friend's reward through each
referrer's personal code (codes.referrer_id, and referrer_email_key: the SHA-256 of the
referrer's normalised e-mail, so a checkout can refuse self-referral by e-mail without the
address being kept); `referral_programs` says what the advocate gets and when; `referrals`
is each friend's order on its way to rewarding the advocate, settled from the event feed
(`feed_cursors` keeps how far such a reader has read).

Revision ID: 8c4e1f7a2d59
Revises: 5f3a8e2c7b94
Create Date: 2026-12-02 07:00:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "8c4e1f7a2d59"
down_revision: str | None = "5f3a8e2c7b94"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_constraint(op.f("ck_campaigns_known_kind"), "campaigns")
    op.create_check_constraint(
        op.f("ck_campaigns_known_kind"),
        "campaigns",
        "kind IN ('standard', 'support', 'reward', 'referral')",
    )
    op.add_column("codes", sa.Column("referrer_id", sa.String(length=200), nullable=True))
    op.add_column("codes", sa.Column("referrer_email_key", sa.String(length=64), nullable=True))
    op.create_table(
        "referral_programs",
        sa.Column("id", sa.Uuid(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("campaign_id", sa.Uuid(), nullable=False),
        sa.Column("window_days", sa.Integer(), nullable=False),
        sa.Column("advocate_points", sa.BigInteger(), nullable=True),
        sa.Column("advocate_program_id", sa.Uuid(), nullable=True),
        sa.Column("advocate_amount", sa.BigInteger(), nullable=True),
        sa.Column("advocate_currency", sa.String(length=3), nullable=True),
        sa.Column("max_rewards", sa.Integer(), nullable=True),
        sa.Column("max_rewards_period", sa.String(length=8), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "(advocate_points > 0 AND advocate_program_id IS NOT NULL"
            " AND advocate_amount IS NULL AND advocate_currency IS NULL)"
            " OR (advocate_amount > 0 AND advocate_currency IS NOT NULL"
            " AND advocate_points IS NULL AND advocate_program_id IS NULL)",
            name=op.f("ck_referral_programs_one_advocate_reward"),
        ),
        sa.CheckConstraint(
            "(max_rewards IS NULL AND max_rewards_period IS NULL)"
            " OR (max_rewards > 0 AND max_rewards_period IN ('day', 'week', 'month'))",
            name=op.f("ck_referral_programs_known_limit"),
        ),
        sa.CheckConstraint("window_days >= 0", name=op.f("ck_referral_programs_window")),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaigns.id"],
            name=op.f("fk_referral_programs_campaign_id_campaigns"),
        ),
        sa.ForeignKeyConstraint(
            ["advocate_program_id"],
            ["loyalty_programs.id"],
            name=op.f("fk_referral_programs_advocate_program_id_loyalty_programs"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_referral_programs")),
        sa.UniqueConstraint("campaign_id", name=op.f("uq_referral_programs_campaign_id")),
    )
    op.create_index(
        "uq_codes_referrer",
        "codes",
        ["campaign_id", "referrer_id"],
        unique=True,
        postgresql_where=sa.text("referrer_id IS NOT NULL"),
    )
    op.create_table(
        "referrals",
        sa.Column("id", sa.Uuid(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("program_id", sa.Uuid(), nullable=False),
        sa.Column("code_id", sa.Uuid(), nullable=False),
        sa.Column("referrer_id", sa.String(length=200), nullable=False),
        sa.Column("referee_id", sa.String(length=200), nullable=False),
        sa.Column("redemption_id", sa.Uuid(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=True),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("settled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reward_entry_id", sa.Uuid(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "status IN ('pending', 'rewarded', 'cancelled', 'refused')",
            name=op.f("ck_referrals_known_status"),
        ),
        sa.ForeignKeyConstraint(
            ["program_id"],
            ["referral_programs.id"],
            name=op.f("fk_referrals_program_id_referral_programs"),
        ),
        sa.ForeignKeyConstraint(["code_id"], ["codes.id"], name=op.f("fk_referrals_code_id_codes")),
        sa.ForeignKeyConstraint(
            ["redemption_id"],
            ["redemptions.id"],
            name=op.f("fk_referrals_redemption_id_redemptions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_referrals")),
        sa.UniqueConstraint("redemption_id", name=op.f("uq_referrals_redemption_id")),
    )
    op.create_index(
        "ix_referrals_due", "referrals", ["due_at"], postgresql_where=sa.text("status = 'pending'")
    )
    op.create_index(
        "ix_referrals_program_id_referrer_id_settled_at",
        "referrals",
        ["program_id", "referrer_id", "settled_at"],
    )
    op.create_table(
        "feed_cursors",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("txid", sa.BigInteger(), nullable=False),
        sa.Column("event_id", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_feed_cursors")),
    )


def downgrade() -> None:
    op.drop_table("feed_cursors")
    op.drop_index("ix_referrals_program_id_referrer_id_settled_at", "referrals")
    op.drop_index("ix_referrals_due", "referrals")
    op.drop_table("referrals")
    op.drop_index("uq_codes_referrer", "codes")
    op.drop_table("referral_programs")
    op.drop_column("codes", "referrer_email_key")
    op.drop_column("codes", "referrer_id")
    op.drop_constraint(op.f("ck_campaigns_known_kind"), "campaigns")
    op.create_check_constraint(
        op.f("ck_campaigns_known_kind"), "campaigns", "kind IN ('standard', 'support', 'reward')"
    )
