"""Codes can be switched off one by one (`disabled_at`, set while a code is disabled), and one
never used can be deleted: ledger entries get an index on the code they made, so that the
foreign key's check on delete is a lookup rather than a scan of the ledger.

A nullable column without a default: adding it rewrites nothing. The index is built with
CREATE INDEX, which blocks writes to ledger_entries while it runs (seconds for millions of
entries); build it CONCURRENTLY by hand first on a large ledger.

Revision ID: 8c3f1a7d2e90
Revises: 6e2b9d4a1c57
Create Date: 2026-12-01 20:00:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "8c3f1a7d2e90"
down_revision: str | None = "6e2b9d4a1c57"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("codes", sa.Column("disabled_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index(
        "ix_ledger_entries_code_id",
        "ledger_entries",
        ["code_id"],
        postgresql_where=sa.text("code_id IS NOT NULL"),
        if_not_exists=True,
    )


def downgrade() -> None:
    op.drop_index("ix_ledger_entries_code_id", table_name="ledger_entries")
    op.drop_column("codes", "disabled_at")
