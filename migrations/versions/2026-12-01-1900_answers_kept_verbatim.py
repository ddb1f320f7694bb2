"""Idempotency answers kept as the text that was sent: `json`, not `jsonb`, which reorders an
object's keys, so a retry gets the first answer byte for byte.

The change rewrites idempotency_keys under an exclusive lock; the table holds only the keys of
the last day once the purge runs (POST /v1/purge-runs), so it is short.

Revision ID: 6e2b9d4a1c57
Revises: 2d9a6e4f8c13
Create Date: 2026-12-01 19:00:00.000000+00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "6e2b9d4a1c57"
down_revision: str | None = "2d9a6e4f8c13"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        "ALTER TABLE idempotency_keys ALTER COLUMN response_body TYPE json "
        "USING response_body::json"
    )


def downgrade() -> None:
    op.execute(
        "ALTER TABLE idempotency_keys ALTER COLUMN response_body TYPE jsonb "
        "USING response_body::jsonb"
    )
