"""Split each code's use counter into counter rows (code_counters), so that concurrent redeems of
one popular code lock different rows. Existing counts move over, filling the shares in order.

Revision ID: 5c1f0a9d7e42
Revises: 0e885dd4ace4
Create Date: 2026-11-23 11:00:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "5c1f0a9d7e42"
down_revision: str | None = "0e885dd4ace4"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The split used when this revision was written (db/repositories/codes.py COUNTER_SLOTS); the
# migration keeps its own copy so that it never changes after release.
_SLOTS = 32


def upgrade() -> None:
    op.create_table(
        "code_counters",
        sa.Column("code_id", sa.UUID(), nullable=False),
        sa.Column("slot", sa.SmallInteger(), nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=True),
        sa.Column("used", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.CheckConstraint(
            "used >= 0 AND (capacity IS NULL OR used <= capacity)",
            name=op.f("ck_code_counters_used_within_capacity"),
        ),
        sa.CheckConstraint("capacity > 0", name=op.f("ck_code_counters_capacity_positive")),
        sa.ForeignKeyConstraint(
            ["code_id"],
            ["codes.id"],
            name=op.f("fk_code_counters_code_id_codes"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("code_id", "slot", name=op.f("pk_code_counters")),
    )
    # Shares of max_redemptions as even as integers allow (the first `max % n` get one more);
    # the existing count fills them in slot order. Unlimited codes get unlimited shares.
    op.execute(
        sa.text(
            """
            INSERT INTO code_counters (code_id, slot, capacity, used)
            SELECT c.id, s.slot,
                   CASE WHEN c.max_redemptions IS NULL THEN NULL
                        ELSE c.max_redemptions / k.n + (s.slot < c.max_redemptions % k.n)::int
                   END,
                   CASE WHEN c.max_redemptions IS NULL
                        THEN CASE WHEN s.slot = 0 THEN c.redemption_count ELSE 0 END
                        ELSE LEAST(
                            c.max_redemptions / k.n + (s.slot < c.max_redemptions % k.n)::int,
                            GREATEST(0, c.redemption_count - (
                                s.slot * (c.max_redemptions / k.n)
                                + LEAST(s.slot, c.max_redemptions % k.n))))
                   END
            FROM codes AS c
            CROSS JOIN LATERAL (
                SELECT LEAST(:slots, COALESCE(c.max_redemptions, :slots)) AS n
            ) AS k
            CROSS JOIN LATERAL generate_series(0, k.n - 1) AS s(slot)
            """
        ).bindparams(slots=_SLOTS)
    )
    op.drop_constraint(op.f("ck_codes_redemption_count_within_limit"), "codes", type_="check")
    op.drop_column("codes", "redemption_count")


def downgrade() -> None:
    op.add_column(
        "codes",
        sa.Column("redemption_count", sa.Integer(), server_default=sa.text("0"), nullable=False),
    )
    op.execute(
        """
        UPDATE codes SET redemption_count = totals.used
        FROM (SELECT code_id, sum(used) AS used FROM code_counters GROUP BY code_id) AS totals
        WHERE totals.code_id = codes.id
        """
    )
    op.create_check_constraint(
        op.f("ck_codes_redemption_count_within_limit"),
        "codes",
        "redemption_count >= 0"
        " AND (max_redemptions IS NULL OR redemption_count <= max_redemptions)",
    )
    op.drop_table("code_counters")
