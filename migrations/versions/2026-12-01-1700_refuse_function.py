"""tessera_refuse(reason): raises, so that a single statement that finds one of its guarded
writes refused (a code use, a customer limit, a taken idempotency key) undoes all of them: the
checkout's writes run as one statement each, with no transaction around them.

Revision ID: 8b1f4c7e2a90
Revises: 4a7e2c9d1b36
Create Date: 2026-12-01 17:00:00.000000+00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "8b1f4c7e2a90"
down_revision: str | None = "4a7e2c9d1b36"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        """
        CREATE FUNCTION tessera_refuse(reason text) RETURNS boolean
        LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION USING ERRCODE = 'P0001', MESSAGE = reason;
        END
        $$
        """
    )


def downgrade() -> None:
    op.execute("DROP FUNCTION tessera_refuse(text)")
