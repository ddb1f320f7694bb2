"""Support codes, the audit trail and failed-guess limits: per-key issuing limits and daily
issued totals, campaigns marked as made for one apology code, one audit event per admin or
support write, and failed code guesses counted per key and per customer.

Revision ID: 3b8f5e0c2a17
Revises: 7d3e2b61c9a4
Create Date: 2026-11-23 11:47:20.936106+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "3b8f5e0c2a17"
down_revision: str | None = "7d3e2b61c9a4"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "audit_events",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column(
            "at",
            sa.DateTime(timezone=True),
            server_default=sa.text("clock_timestamp()"),
            nullable=False,
        ),
        sa.Column("api_key_id", sa.UUID(), nullable=True),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("campaign_id", sa.UUID(), nullable=True),
        sa.Column("customer_id", sa.String(length=200), nullable=True),
        sa.Column("subject_id", sa.UUID(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column(
            "details",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["api_key_id"], ["api_keys.id"], name=op.f("fk_audit_events_api_key_id_api_keys")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_events")),
    )
    op.create_index(
        "ix_audit_events_api_key_id_at", "audit_events", ["api_key_id", "at"], unique=False
    )
    op.create_index("ix_audit_events_at_id", "audit_events", ["at", "id"], unique=False)
    op.create_index(
        "ix_audit_events_campaign_id_at", "audit_events", ["campaign_id", "at"], unique=False
    )
    op.create_index(
        "ix_audit_events_customer_id_at", "audit_events", ["customer_id", "at"], unique=False
    )
    op.create_table(
        "issued_totals",
        sa.Column("api_key_id", sa.UUID(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("amount >= 0", name=op.f("ck_issued_totals_amount_not_negative")),
        sa.ForeignKeyConstraint(
            ["api_key_id"], ["api_keys.id"], name=op.f("fk_issued_totals_api_key_id_api_keys")
        ),
        sa.PrimaryKeyConstraint("api_key_id", "day", name=op.f("pk_issued_totals")),
    )
    op.create_table(
        "issuing_limits",
        sa.Column("api_key_id", sa.UUID(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("max_code_amount", sa.BigInteger(), nullable=False),
        sa.Column("max_code_basis_points", sa.Integer(), nullable=False),
        sa.Column("daily_amount", sa.BigInteger(), nullable=False),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "daily_amount > 0", name=op.f("ck_issuing_limits_daily_amount_positive")
        ),
        sa.CheckConstraint(
            "max_code_amount > 0", name=op.f("ck_issuing_limits_max_code_amount_positive")
        ),
        sa.CheckConstraint(
            "max_code_basis_points BETWEEN 1 AND 10000",
            name=op.f("ck_issuing_limits_max_code_basis_points_range"),
        ),
        sa.ForeignKeyConstraint(
            ["api_key_id"], ["api_keys.id"], name=op.f("fk_issuing_limits_api_key_id_api_keys")
        ),
        sa.PrimaryKeyConstraint("api_key_id", name=op.f("pk_issuing_limits")),
    )
    op.add_column(
        "campaigns",
        sa.Column(
            "kind", sa.String(length=16), server_default=sa.text("'standard'"), nullable=False
        ),
    )
    op.create_check_constraint(
        op.f("ck_campaigns_known_kind"), "campaigns", "kind IN ('standard', 'support')"
    )

    op.create_table(
        "guess_failures",
        sa.Column("subject", sa.String(length=220), nullable=False),
        sa.Column("window_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("threshold", sa.Integer(), nullable=False),
        sa.Column("blocked_until", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("failures >= 0", name=op.f("ck_guess_failures_failures_not_negative")),
        sa.PrimaryKeyConstraint("subject", name=op.f("pk_guess_failures")),
    )


def downgrade() -> None:
    op.drop_table("guess_failures")
    op.drop_constraint(op.f("ck_campaigns_known_kind"), "campaigns", type_="check")
    op.drop_column("campaigns", "kind")
    op.drop_table("issuing_limits")
    op.drop_table("issued_totals")
    op.drop_index("ix_audit_events_customer_id_at", table_name="audit_events")
    op.drop_index("ix_audit_events_campaign_id_at", table_name="audit_events")
    op.drop_index("ix_audit_events_at_id", table_name="audit_events")
    op.drop_index("ix_audit_events_api_key_id_at", table_name="audit_events")
    op.drop_table("audit_events")
