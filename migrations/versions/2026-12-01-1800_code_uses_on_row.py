"""Codes one customer uses (pool, support and reward codes) count their uses on their own row
(codes.used) instead of in a code_counters row each: a pool of a million codes is a million rows,
not two million. NULL keeps a code on its counter rows (named codes, and every code so far).

The CHECK is added NOT VALID and validated separately, so that existing rows are checked
without blocking writes to codes.

Revision ID: 2d9a6e4f8c13
Revises: 8b1f4c7e2a90
Create Date: 2026-12-01 18:00:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "2d9a6e4f8c13"
down_revision: str | None = "8b1f4c7e2a90"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("codes", sa.Column("used", sa.Integer(), nullable=True))
    op.execute(
        "ALTER TABLE codes ADD CONSTRAINT ck_codes_used_within_limit CHECK (used IS NULL OR "
        "(used >= 0 AND (max_redemptions IS NULL OR used <= max_redemptions))) NOT VALID"
    )
    op.execute("ALTER TABLE codes VALIDATE CONSTRAINT ck_codes_used_within_limit")


def downgrade() -> None:
    # Uses counted on a code's row move to a counter row of its own, as before.
    op.execute(
        "INSERT INTO code_counters (code_id, slot, capacity, used) "
        "SELECT id, 0, max_redemptions, used FROM codes WHERE used IS NOT NULL"
    )
    op.execute("ALTER TABLE codes DROP CONSTRAINT ck_codes_used_within_limit")
    op.drop_column("codes", "used")
