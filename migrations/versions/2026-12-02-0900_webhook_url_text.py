"""webhook_endpoints.url as text: the API bounds the URL as sent (2,000 characters), and the
URL as stored, percent-encoded, can be several times longer (an "é" becomes "%C3%A9").

Revision ID: 6a2c8d4f1b73
Revises: 3d7b9f2e6a41
Create Date: 2026-12-02 09:00:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "6a2c8d4f1b73"
down_revision: str | None = "3d7b9f2e6a41"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.alter_column(
        "webhook_endpoints", "url", type_=sa.Text(), existing_type=sa.String(length=2000)
    )


def downgrade() -> None:
    op.alter_column(
        "webhook_endpoints", "url", type_=sa.String(length=2000), existing_type=sa.Text()
    )
