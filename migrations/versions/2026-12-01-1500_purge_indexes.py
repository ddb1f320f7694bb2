"""Indexes for the purge of expired idempotency keys and ended failed-guess windows, built
concurrently: both tables take writes on every checkout request.

Revision ID: 4a7e2c9d1b36
Revises: 9c4d1f6e8b20
Create Date: 2026-12-01 15:00:00.000000+00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "4a7e2c9d1b36"
down_revision: str | None = "9c4d1f6e8b20"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_INDEXES = (
    ("ix_idempotency_keys_created_at", "idempotency_keys", "created_at"),
    ("ix_guess_failures_window_start", "guess_failures", "window_start"),
)


def upgrade() -> None:
    with op.get_context().autocommit_block():
        for name, table, column in _INDEXES:
            # A concurrent build that failed leaves an invalid index behind: start afresh.
            op.drop_index(name, table_name=table, postgresql_concurrently=True, if_exists=True)
            op.create_index(name, table, [column], postgresql_concurrently=True, if_not_exists=True)


def downgrade() -> None:
    with op.get_context().autocommit_block():
        for name, table, _ in _INDEXES:
            op.drop_index(name, table_name=table, postgresql_concurrently=True, if_exists=True)
