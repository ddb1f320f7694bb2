"""Expiry notices: ledger_lots.expiry_noticed_at marks a points lot whose coming expiry was
announced (a `points.expiring` event, POST /v1/expiry-notice-runs), so it is announced once.

Revision ID: 2b8d6f1a9c37
Revises: 9e4b7c2d5a18
Create Date: 2026-12-02 05:00:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "2b8d6f1a9c37"
down_revision: str | None = "9e4b7c2d5a18"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "ledger_lots",
        sa.Column("expiry_noticed_at", sa.DateTime(timezone=True), nullable=True),
    )


def downgrade() -> None:
    op.drop_column("ledger_lots", "expiry_noticed_at")
