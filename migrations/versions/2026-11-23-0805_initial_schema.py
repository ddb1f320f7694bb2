"""Initial schema: API keys, campaigns and their rules, codes, usage counters, redemptions,
idempotency keys.

Revision ID: 0e885dd4ace4
Revises:
Create Date: 2026-11-23 08:05:06.905717+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0e885dd4ace4"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "api_keys",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("key_prefix", sa.String(length=16), nullable=False),
        sa.Column("key_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("scopes", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "scopes <@ ARRAY['checkout', 'support', 'admin']::text[] AND cardinality(scopes) > 0",
            name=op.f("ck_api_keys_known_scopes"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_keys")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_api_keys_key_hash")),
    )
    op.create_table(
        "campaigns",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column(
            "status", sa.String(length=16), server_default=sa.text("'active'"), nullable=False
        ),
        sa.Column(
            "trigger", sa.String(length=16), server_default=sa.text("'code'"), nullable=False
        ),
        sa.Column("rules", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("priority", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("is_exclusive", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column(
            "is_line_exclusive", sa.Boolean(), server_default=sa.text("false"), nullable=False
        ),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("per_customer_limit", sa.Integer(), nullable=True),
        sa.Column(
            "metadata",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
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
            "status IN ('active', 'paused')", name=op.f("ck_campaigns_known_status")
        ),
        sa.CheckConstraint(
            "trigger IN ('code', 'automatic')", name=op.f("ck_campaigns_known_trigger")
        ),
        sa.CheckConstraint("ends_at > starts_at", name=op.f("ck_campaigns_ends_after_start")),
        sa.CheckConstraint(
            "per_customer_limit > 0", name=op.f("ck_campaigns_per_customer_limit_positive")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaigns")),
    )
    op.create_index(
        "ix_campaigns_automatic_active",
        "campaigns",
        ["priority"],
        unique=False,
        postgresql_where=sa.text("trigger = 'automatic' AND status = 'active'"),
    )
    op.create_index("ix_campaigns_created_at_id", "campaigns", ["created_at", "id"], unique=False)
    op.create_table(
        "customer_usages",
        sa.Column("subject", sa.String(length=16), nullable=False),
        sa.Column("subject_id", sa.UUID(), nullable=False),
        sa.Column("customer_id", sa.String(length=200), nullable=False),
        sa.Column("redemption_count", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "subject IN ('code', 'campaign')", name=op.f("ck_customer_usages_known_subject")
        ),
        sa.CheckConstraint(
            "redemption_count >= 0", name=op.f("ck_customer_usages_redemption_count_not_negative")
        ),
        sa.PrimaryKeyConstraint(
            "subject", "subject_id", "customer_id", name=op.f("pk_customer_usages")
        ),
    )
    op.create_table(
        "codes",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("campaign_id", sa.UUID(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("normalised_code", sa.String(length=64), nullable=False),
        sa.Column("max_redemptions", sa.Integer(), nullable=True),
        sa.Column("redemption_count", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("per_customer_limit", sa.Integer(), nullable=True),
        sa.Column("customer_id", sa.String(length=200), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint("max_redemptions > 0", name=op.f("ck_codes_max_redemptions_positive")),
        sa.CheckConstraint(
            "per_customer_limit > 0", name=op.f("ck_codes_per_customer_limit_positive")
        ),
        sa.CheckConstraint(
            "redemption_count >= 0"
            " AND (max_redemptions IS NULL OR redemption_count <= max_redemptions)",
            name=op.f("ck_codes_redemption_count_within_limit"),
        ),
        sa.ForeignKeyConstraint(
            ["campaign_id"], ["campaigns.id"], name=op.f("fk_codes_campaign_id_campaigns")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_codes")),
        sa.UniqueConstraint("normalised_code", name=op.f("uq_codes_normalised_code")),
    )
    op.create_index(
        "ix_codes_campaign_id_created_at_id",
        "codes",
        ["campaign_id", "created_at", "id"],
        unique=False,
    )
    op.create_table(
        "idempotency_keys",
        sa.Column("api_key_id", sa.UUID(), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("request_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("response_status", sa.SmallInteger(), nullable=True),
        sa.Column("response_body", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["api_key_id"], ["api_keys.id"], name=op.f("fk_idempotency_keys_api_key_id_api_keys")
        ),
        sa.PrimaryKeyConstraint("api_key_id", "key", name=op.f("pk_idempotency_keys")),
    )
    op.create_table(
        "redemptions",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("api_key_id", sa.UUID(), nullable=False),
        sa.Column("customer_id", sa.String(length=200), nullable=True),
        sa.Column("order_id", sa.String(length=200), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("subtotal_amount", sa.BigInteger(), nullable=False),
        sa.Column("discount_amount", sa.BigInteger(), nullable=False),
        sa.Column("shipping_amount", sa.BigInteger(), nullable=False),
        sa.Column("shipping_discount_amount", sa.BigInteger(), nullable=False),
        sa.Column("total_amount", sa.BigInteger(), nullable=False),
        sa.Column("cashback_amount", sa.BigInteger(), nullable=False),
        sa.Column(
            "status", sa.String(length=16), server_default=sa.text("'succeeded'"), nullable=False
        ),
        sa.Column("result", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("rolled_back_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('succeeded', 'rolled_back')", name=op.f("ck_redemptions_known_status")
        ),
        sa.CheckConstraint(
            "cashback_amount >= 0", name=op.f("ck_redemptions_cashback_not_negative")
        ),
        sa.CheckConstraint(
            "discount_amount >= 0 AND discount_amount <= subtotal_amount"
            " AND shipping_discount_amount >= 0 AND shipping_discount_amount <= shipping_amount"
            " AND total_amount = subtotal_amount - discount_amount"
            " + shipping_amount - shipping_discount_amount",
            name=op.f("ck_redemptions_amounts_consistent"),
        ),
        sa.ForeignKeyConstraint(
            ["api_key_id"], ["api_keys.id"], name=op.f("fk_redemptions_api_key_id_api_keys")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_redemptions")),
    )
    op.create_table(
        "redemption_items",
        sa.Column("redemption_id", sa.UUID(), nullable=False),
        sa.Column("position", sa.SmallInteger(), nullable=False),
        sa.Column("code_id", sa.UUID(), nullable=True),
        sa.Column("campaign_id", sa.UUID(), nullable=False),
        sa.Column("discount_amount", sa.BigInteger(), nullable=False),
        sa.Column("shipping_discount_amount", sa.BigInteger(), nullable=False),
        sa.Column("cashback_amount", sa.BigInteger(), nullable=False),
        sa.Column("counted_code_customer", sa.Boolean(), nullable=False),
        sa.Column("counted_campaign_customer", sa.Boolean(), nullable=False),
        sa.CheckConstraint(
            "cashback_amount >= 0", name=op.f("ck_redemption_items_cashback_not_negative")
        ),
        sa.CheckConstraint(
            "discount_amount >= 0", name=op.f("ck_redemption_items_discount_not_negative")
        ),
        sa.CheckConstraint(
            "shipping_discount_amount >= 0",
            name=op.f("ck_redemption_items_shipping_discount_not_negative"),
        ),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaigns.id"],
            name=op.f("fk_redemption_items_campaign_id_campaigns"),
        ),
        sa.ForeignKeyConstraint(
            ["code_id"], ["codes.id"], name=op.f("fk_redemption_items_code_id_codes")
        ),
        sa.ForeignKeyConstraint(
            ["redemption_id"],
            ["redemptions.id"],
            name=op.f("fk_redemption_items_redemption_id_redemptions"),
        ),
        sa.PrimaryKeyConstraint("redemption_id", "position", name=op.f("pk_redemption_items")),
    )
    op.create_index("ix_redemption_items_code_id", "redemption_items", ["code_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_redemption_items_code_id", table_name="redemption_items")
    op.drop_table("redemption_items")
    op.drop_table("redemptions")
    op.drop_table("idempotency_keys")
    op.drop_index("ix_codes_campaign_id_created_at_id", table_name="codes")
    op.drop_table("codes")
    op.drop_table("customer_usages")
    op.drop_index("ix_campaigns_created_at_id", table_name="campaigns")
    op.drop_index(
        "ix_campaigns_automatic_active",
        table_name="campaigns",
        postgresql_where=sa.text("trigger = 'automatic' AND status = 'active'"),
    )
    op.drop_table("campaigns")
    op.drop_table("api_keys")
