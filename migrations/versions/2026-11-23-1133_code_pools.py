"""Code pools: where each code came from (named, generated, imported, support), which pool
code a claim handed to which customer (one per customer and campaign), and the bulk jobs that
fill pools.

Revision ID: 7d3e2b61c9a4
Revises: 5c1f0a9d7e42
Create Date: 2026-11-23 11:33:28.369490+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "7d3e2b61c9a4"
down_revision: str | None = "5c1f0a9d7e42"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "code_jobs",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("campaign_id", sa.UUID(), nullable=False),
        sa.Column("api_key_id", sa.UUID(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column(
            "status", sa.String(length=16), server_default=sa.text("'running'"), nullable=False
        ),
        sa.Column("requested", sa.Integer(), nullable=False),
        sa.Column("created", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("spec", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
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
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("kind IN ('generate')", name=op.f("ck_code_jobs_known_kind")),
        sa.CheckConstraint(
            "status IN ('running', 'succeeded', 'failed')", name=op.f("ck_code_jobs_known_status")
        ),
        sa.CheckConstraint(
            "requested > 0 AND created >= 0 AND created <= requested",
            name=op.f("ck_code_jobs_counts"),
        ),
        sa.ForeignKeyConstraint(
            ["api_key_id"], ["api_keys.id"], name=op.f("fk_code_jobs_api_key_id_api_keys")
        ),
        sa.ForeignKeyConstraint(
            ["campaign_id"], ["campaigns.id"], name=op.f("fk_code_jobs_campaign_id_campaigns")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_code_jobs")),
    )
    op.create_index(
        "ix_code_jobs_campaign_id_created_at",
        "code_jobs",
        ["campaign_id", "created_at"],
        unique=False,
    )
    op.add_column(
        "codes",
        sa.Column(
            "source", sa.String(length=16), server_default=sa.text("'named'"), nullable=False
        ),
    )
    op.add_column("codes", sa.Column("assigned_at", sa.DateTime(timezone=True), nullable=True))
    op.create_check_constraint(
        op.f("ck_codes_known_source"),
        "codes",
        "source IN ('named', 'generated', 'imported', 'support')",
    )
    op.create_index(
        "ix_codes_claimable",
        "codes",
        ["campaign_id"],
        unique=False,
        postgresql_where=sa.text("customer_id IS NULL AND source IN ('generated', 'imported')"),
    )
    op.create_index(
        "uq_codes_pool_customer",
        "codes",
        ["campaign_id", "customer_id"],
        unique=True,
        postgresql_where=sa.text("customer_id IS NOT NULL AND source IN ('generated', 'imported')"),
    )


def downgrade() -> None:
    op.drop_index(
        "uq_codes_pool_customer",
        table_name="codes",
        postgresql_where=sa.text("customer_id IS NOT NULL AND source IN ('generated', 'imported')"),
    )
    op.drop_index(
        "ix_codes_claimable",
        table_name="codes",
        postgresql_where=sa.text("customer_id IS NULL AND source IN ('generated', 'imported')"),
    )
    op.drop_constraint(op.f("ck_codes_known_source"), "codes", type_="check")
    op.drop_column("codes", "assigned_at")
    op.drop_column("codes", "source")
    op.drop_index("ix_code_jobs_campaign_id_created_at", table_name="code_jobs")
    op.drop_table("code_jobs")
