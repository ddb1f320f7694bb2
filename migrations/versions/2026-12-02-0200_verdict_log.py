"""The verdicts a customer's codes got: each refused code of a validate or redeem that named
a customer, for support to see why a code did not work. A log: no foreign keys, purged after
30 days by POST /v1/purge-runs.

Revision ID: 3c9a7e1d5b48
Revises: 5e8b2d7c4f61
Create Date: 2026-12-02 02:00:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "3c9a7e1d5b48"
down_revision: str | None = "5e8b2d7c4f61"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "verdict_log",
        sa.Column("id", sa.Uuid(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("customer_id", sa.String(length=200), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("source", sa.String(length=8), nullable=False),
        sa.Column("code", sa.String(length=100), nullable=False),
        sa.Column("reason", sa.String(length=40), nullable=False),
        sa.Column("campaign_id", sa.Uuid(), nullable=True),
        sa.Column("api_key_id", sa.Uuid(), nullable=False),
        sa.CheckConstraint(
            "source IN ('validate', 'redeem', 'hold')", name=op.f("ck_verdict_log_known_source")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_verdict_log")),
    )
    op.create_index("ix_verdict_log_customer_id_at_id", "verdict_log", ["customer_id", "at", "id"])
    op.create_index("ix_verdict_log_at", "verdict_log", ["at"])


def downgrade() -> None:
    op.drop_index("ix_verdict_log_at", table_name="verdict_log")
    op.drop_index("ix_verdict_log_customer_id_at_id", table_name="verdict_log")
    op.drop_table("verdict_log")
