"""Resume the code generations an older build was running in its web process: each gets a
job, so that a worker continues it from the codes it had written.

Due five minutes after the migration (the older build's own patience with a job whose count
does not move), so that a generation an old process is still writing during a rolling deploy
finishes there first: the worker then finds it ended and does nothing. Data only; the schema
is the revision before's.

Revision ID: 7c2d9e4b1a63
Revises: efe9f9831aa1
Create Date: 2026-12-02 11:01:00.000000+00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "7c2d9e4b1a63"
down_revision: str | None = "efe9f9831aa1"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        "INSERT INTO jobs (kind, payload, run_at) "
        "SELECT 'generate_codes', jsonb_build_object('code_job_id', id::text), "
        "now() + interval '5 minutes' "
        "FROM code_jobs WHERE status = 'running' ORDER BY created_at"
    )


def downgrade() -> None:
    # The jobs this queued are dropped with the table by the revision before's downgrade.
    pass
