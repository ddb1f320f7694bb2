"""Loyalty programs and rewards, and balances kept as lots: members' points, gift cards and
cashback wallets in one append-only ledger (entries, lots, and which lots each debit took).
Campaigns and codes gain the kind/source 'reward' for codes bought with points.

Revision ID: 9c4d1f6e8b20
Revises: 3b8f5e0c2a17
Create Date: 2026-11-23 13:14:34.927854+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "9c4d1f6e8b20"
down_revision: str | None = "3b8f5e0c2a17"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "loyalty_programs",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("earn_points", sa.Integer(), nullable=False),
        sa.Column("earn_per_amount", sa.BigInteger(), nullable=False),
        sa.Column("tier_basis", sa.String(length=32), nullable=False),
        sa.Column("tiers", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("expiry_days", sa.Integer(), nullable=True),
        sa.Column("pending_days", sa.Integer(), nullable=False),
        sa.Column(
            "allow_negative_balance", sa.Boolean(), server_default=sa.text("false"), nullable=False
        ),
        sa.Column(
            "status", sa.String(length=16), server_default=sa.text("'active'"), nullable=False
        ),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "status IN ('active', 'archived')", name=op.f("ck_loyalty_programs_known_status")
        ),
        sa.CheckConstraint(
            "tier_basis IN ('lifetime', 'rolling_12_months')",
            name=op.f("ck_loyalty_programs_known_tier_basis"),
        ),
        sa.CheckConstraint(
            "earn_points >= 0 AND earn_per_amount > 0", name=op.f("ck_loyalty_programs_earn_rate")
        ),
        sa.CheckConstraint(
            "expiry_days > 0", name=op.f("ck_loyalty_programs_expiry_days_positive")
        ),
        sa.CheckConstraint(
            "pending_days >= 0", name=op.f("ck_loyalty_programs_pending_days_not_negative")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_loyalty_programs")),
    )
    op.create_index(
        "ix_loyalty_programs_created_at_id", "loyalty_programs", ["created_at", "id"], unique=False
    )
    op.create_table(
        "balance_accounts",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("program_id", sa.UUID(), nullable=True),
        sa.Column("customer_id", sa.String(length=200), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=True),
        sa.Column("code", sa.String(length=64), nullable=True),
        sa.Column("normalised_code", sa.String(length=64), nullable=True),
        sa.Column("debt", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "kind <> 'points' OR (program_id IS NOT NULL AND customer_id IS NOT NULL"
            " AND code IS NULL AND currency IS NULL)",
            name=op.f("ck_balance_accounts_points_shape"),
        ),
        sa.CheckConstraint(
            "kind <> 'wallet' OR customer_id IS NOT NULL",
            name=op.f("ck_balance_accounts_wallet_customer"),
        ),
        sa.CheckConstraint(
            "kind = 'points' OR (program_id IS NULL AND code IS NOT NULL"
            " AND normalised_code IS NOT NULL AND currency IS NOT NULL)",
            name=op.f("ck_balance_accounts_balance_code_shape"),
        ),
        sa.CheckConstraint(
            "kind IN ('points', 'gift_card', 'wallet')", name=op.f("ck_balance_accounts_known_kind")
        ),
        sa.CheckConstraint("debt >= 0", name=op.f("ck_balance_accounts_debt_not_negative")),
        sa.ForeignKeyConstraint(
            ["program_id"],
            ["loyalty_programs.id"],
            name=op.f("fk_balance_accounts_program_id_loyalty_programs"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_balance_accounts")),
        sa.UniqueConstraint("normalised_code", name=op.f("uq_balance_accounts_normalised_code")),
    )
    op.create_index(
        "uq_balance_accounts_member",
        "balance_accounts",
        ["program_id", "customer_id"],
        unique=True,
        postgresql_where=sa.text("kind = 'points'"),
    )
    op.create_index(
        "uq_balance_accounts_wallet",
        "balance_accounts",
        ["customer_id", "currency"],
        unique=True,
        postgresql_where=sa.text("kind = 'wallet'"),
    )
    op.create_table(
        "loyalty_rewards",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("program_id", sa.UUID(), nullable=False),
        sa.Column("campaign_id", sa.UUID(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("points_cost", sa.BigInteger(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("min_subtotal", sa.BigInteger(), nullable=True),
        sa.Column("valid_days", sa.Integer(), nullable=False),
        sa.Column(
            "status", sa.String(length=16), server_default=sa.text("'active'"), nullable=False
        ),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "status IN ('active', 'archived')", name=op.f("ck_loyalty_rewards_known_status")
        ),
        sa.CheckConstraint("amount > 0", name=op.f("ck_loyalty_rewards_amount_positive")),
        sa.CheckConstraint(
            "min_subtotal > 0", name=op.f("ck_loyalty_rewards_min_subtotal_positive")
        ),
        sa.CheckConstraint("points_cost > 0", name=op.f("ck_loyalty_rewards_points_cost_positive")),
        sa.CheckConstraint("valid_days > 0", name=op.f("ck_loyalty_rewards_valid_days_positive")),
        sa.ForeignKeyConstraint(
            ["campaign_id"], ["campaigns.id"], name=op.f("fk_loyalty_rewards_campaign_id_campaigns")
        ),
        sa.ForeignKeyConstraint(
            ["program_id"],
            ["loyalty_programs.id"],
            name=op.f("fk_loyalty_rewards_program_id_loyalty_programs"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_loyalty_rewards")),
    )
    op.create_index(
        "ix_loyalty_rewards_program_id", "loyalty_rewards", ["program_id"], unique=False
    )
    op.create_table(
        "ledger_entries",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("account_id", sa.UUID(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("order_id", sa.String(length=200), nullable=True),
        sa.Column("redemption_id", sa.UUID(), nullable=True),
        sa.Column("reward_id", sa.UUID(), nullable=True),
        sa.Column("code_id", sa.UUID(), nullable=True),
        sa.Column("api_key_id", sa.UUID(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column(
            "details",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("clock_timestamp()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "kind IN ('earn', 'spend', 'expire', 'adjust', 'reverse', 'issue', 'top_up',"
            " 'payment', 'refund', 'cashback')",
            name=op.f("ck_ledger_entries_known_kind"),
        ),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["balance_accounts.id"],
            name=op.f("fk_ledger_entries_account_id_balance_accounts"),
        ),
        sa.ForeignKeyConstraint(
            ["api_key_id"], ["api_keys.id"], name=op.f("fk_ledger_entries_api_key_id_api_keys")
        ),
        sa.ForeignKeyConstraint(
            ["code_id"], ["codes.id"], name=op.f("fk_ledger_entries_code_id_codes")
        ),
        sa.ForeignKeyConstraint(
            ["redemption_id"],
            ["redemptions.id"],
            name=op.f("fk_ledger_entries_redemption_id_redemptions"),
        ),
        sa.ForeignKeyConstraint(
            ["reward_id"],
            ["loyalty_rewards.id"],
            name=op.f("fk_ledger_entries_reward_id_loyalty_rewards"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_entries")),
    )
    op.create_index(
        "ix_ledger_entries_account_id_created_at_id",
        "ledger_entries",
        ["account_id", "created_at", "id"],
        unique=False,
    )
    op.create_index(
        "ix_ledger_entries_order_id",
        "ledger_entries",
        ["order_id"],
        unique=False,
        postgresql_where=sa.text("kind = 'earn'"),
    )
    op.create_index(
        "ix_ledger_entries_redemption_id", "ledger_entries", ["redemption_id"], unique=False
    )
    op.create_index(
        "uq_ledger_entries_earned_order",
        "ledger_entries",
        ["account_id", "order_id"],
        unique=True,
        postgresql_where=sa.text("kind = 'earn'"),
    )
    op.create_table(
        "ledger_lots",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("account_id", sa.UUID(), nullable=False),
        sa.Column("entry_id", sa.UUID(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("remaining", sa.BigInteger(), nullable=False),
        sa.Column("available_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reversed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("amount > 0", name=op.f("ck_ledger_lots_amount_positive")),
        sa.CheckConstraint(
            "remaining >= 0 AND remaining <= amount",
            name=op.f("ck_ledger_lots_remaining_within_amount"),
        ),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["balance_accounts.id"],
            name=op.f("fk_ledger_lots_account_id_balance_accounts"),
        ),
        sa.ForeignKeyConstraint(
            ["entry_id"], ["ledger_entries.id"], name=op.f("fk_ledger_lots_entry_id_ledger_entries")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_lots")),
    )
    op.create_index("ix_ledger_lots_account_id", "ledger_lots", ["account_id"], unique=False)
    op.create_index("ix_ledger_lots_entry_id", "ledger_lots", ["entry_id"], unique=False)
    op.create_index(
        "ix_ledger_lots_expiring",
        "ledger_lots",
        ["expires_at"],
        unique=False,
        postgresql_where=sa.text("remaining > 0 AND expires_at IS NOT NULL"),
    )
    op.create_table(
        "ledger_allocations",
        sa.Column("entry_id", sa.UUID(), nullable=False),
        sa.Column("lot_id", sa.UUID(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("amount > 0", name=op.f("ck_ledger_allocations_amount_positive")),
        sa.ForeignKeyConstraint(
            ["entry_id"],
            ["ledger_entries.id"],
            name=op.f("fk_ledger_allocations_entry_id_ledger_entries"),
        ),
        sa.ForeignKeyConstraint(
            ["lot_id"], ["ledger_lots.id"], name=op.f("fk_ledger_allocations_lot_id_ledger_lots")
        ),
        sa.PrimaryKeyConstraint("entry_id", "lot_id", name=op.f("pk_ledger_allocations")),
    )
    op.create_index("ix_ledger_allocations_lot_id", "ledger_allocations", ["lot_id"], unique=False)

    _replace_check("campaigns", "known_kind", "kind IN ('standard', 'support', 'reward')")
    _replace_check("codes", "known_source", f"source IN {_SOURCES}")


def _replace_check(table: str, name: str, condition: str) -> None:
    op.drop_constraint(op.f(f"ck_{table}_{name}"), table, type_="check")
    op.create_check_constraint(op.f(f"ck_{table}_{name}"), table, condition)


_SOURCES = "('named', 'generated', 'imported', 'support', 'reward')"
_OLD_SOURCES = "('named', 'generated', 'imported', 'support')"


def downgrade() -> None:
    _replace_check("codes", "known_source", f"source IN {_OLD_SOURCES}")
    _replace_check("campaigns", "known_kind", "kind IN ('standard', 'support')")
    op.drop_index("ix_ledger_allocations_lot_id", table_name="ledger_allocations")
    op.drop_table("ledger_allocations")
    op.drop_index(
        "ix_ledger_lots_expiring",
        table_name="ledger_lots",
        postgresql_where=sa.text("remaining > 0 AND expires_at IS NOT NULL"),
    )
    op.drop_index("ix_ledger_lots_entry_id", table_name="ledger_lots")
    op.drop_index("ix_ledger_lots_account_id", table_name="ledger_lots")
    op.drop_table("ledger_lots")
    op.drop_index(
        "uq_ledger_entries_earned_order",
        table_name="ledger_entries",
        postgresql_where=sa.text("kind = 'earn'"),
    )
    op.drop_index("ix_ledger_entries_redemption_id", table_name="ledger_entries")
    op.drop_index(
        "ix_ledger_entries_order_id",
        table_name="ledger_entries",
        postgresql_where=sa.text("kind = 'earn'"),
    )
    op.drop_index("ix_ledger_entries_account_id_created_at_id", table_name="ledger_entries")
    op.drop_table("ledger_entries")
    op.drop_index("ix_loyalty_rewards_program_id", table_name="loyalty_rewards")
    op.drop_table("loyalty_rewards")
    op.drop_index(
        "uq_balance_accounts_wallet",
        table_name="balance_accounts",
        postgresql_where=sa.text("kind = 'wallet'"),
    )
    op.drop_index(
        "uq_balance_accounts_member",
        table_name="balance_accounts",
        postgresql_where=sa.text("kind = 'points'"),
    )
    op.drop_table("balance_accounts")
    op.drop_index("ix_loyalty_programs_created_at_id", table_name="loyalty_programs")
    op.drop_table("loyalty_programs")
