"""Pools of unique codes: bulk writes by COPY, claims by SKIP LOCKED, the jobs that fill them."""

from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast
from uuid import UUID

from asyncpg import Connection as DriverConnection
from asyncpg import UniqueViolationError
from sqlalchemy import func, insert, select, text, update

from app.db.mappers import code_from_row
from app.db.models import Code as CodeRow
from app.db.models import CodeJob as CodeJobRow
from app.db.repositories.base import Repository, translating_integrity_errors
from app.db.repositories.codes import CODE_COLUMNS
from app.domain.campaigns import Code, CodeSource
from app.domain.counters import counts_on_row
from app.domain.pools import CodeJob, CodeUse, JobKind, JobStatus, PoolCodes

# The pool's written codes, each counting its uses on its own row (domain/counters.py), in one
# INSERT ... SELECT. A code already taken (by this batch or any other) is skipped by ON CONFLICT
# and drawn again by the caller.
_INSERT_STAGED = """
INSERT INTO codes (campaign_id, code, normalised_code, max_redemptions, per_customer_limit,
                   expires_at, source, used)
SELECT $1, staged.code, staged.normalised, $2, $3, $4, $5, 0
FROM pool_staging AS staged
ON CONFLICT (normalised_code) DO NOTHING
"""

_COPIED_COLUMNS = (
    "id",
    "campaign_id",
    "code",
    "normalised_code",
    "max_redemptions",
    "per_customer_limit",
    "expires_at",
    "source",
    "used",
)

_CREATE_STAGING = text(
    "CREATE TEMPORARY TABLE pool_staging (code text, normalised text) ON COMMIT DROP"
)
_TAKEN = text(
    """
SELECT staged.code, staged.normalised, count(*) OVER () AS total
FROM pool_staging AS staged JOIN codes ON codes.normalised_code = staged.normalised
ORDER BY staged.code
LIMIT :limit
"""
)
# Keyset pages over ix_codes_campaign_id_created_at_id; uses summed over the counter rows, the
# last use from the redemptions that still stand.
_EXPORT_PAGE = text(
    """
SELECT c.id, c.code, c.max_redemptions, c.customer_id, c.assigned_at, c.expires_at,
       c.created_at,
       coalesce(c.used, (SELECT coalesce(sum(used), 0) FROM code_counters WHERE code_id = c.id))
         AS used,
       (SELECT max(r.created_at) FROM redemption_items AS i
        JOIN redemptions AS r ON r.id = i.redemption_id
        WHERE i.code_id = c.id AND r.status = 'succeeded') AS last_redeemed_at
FROM codes AS c
WHERE c.campaign_id = :campaign_id
  AND (CAST(:after_at AS timestamptz) IS NULL
       OR (c.created_at, c.id) > (CAST(:after_at AS timestamptz), CAST(:after_id AS uuid)))
ORDER BY c.created_at, c.id
LIMIT :limit
"""
)
_DROP_STAGING = text("DROP TABLE pool_staging")

# One unclaimed, unused, unexpired pool code of the campaign, locked; codes other claims hold
# are skipped rather than waited for. MATERIALIZED, so that the pick runs once whatever plan
# the join gets (inlined, it could be run again per row, each run taking another code).
_CLAIM = text(
    """
WITH picked AS MATERIALIZED (
    SELECT id FROM codes
    WHERE campaign_id = :campaign_id AND customer_id IS NULL
      AND source IN ('generated', 'imported') AND disabled_at IS NULL
      AND (expires_at IS NULL OR expires_at > :now)
      AND coalesce(codes.used, 0) = 0
      AND NOT EXISTS (SELECT 1 FROM code_counters WHERE code_id = codes.id AND used > 0)
    LIMIT 1
    FOR UPDATE SKIP LOCKED
)
UPDATE codes SET customer_id = :customer_id, assigned_at = :now
FROM picked WHERE codes.id = picked.id
RETURNING codes.id
"""
)

_JOB_COLUMNS = (
    CodeJobRow.id,
    CodeJobRow.campaign_id,
    CodeJobRow.kind,
    CodeJobRow.status,
    CodeJobRow.requested,
    CodeJobRow.created,
    CodeJobRow.spec,
    CodeJobRow.error,
    CodeJobRow.created_at,
    CodeJobRow.updated_at,
    CodeJobRow.finished_at,
)


def _job(row: Any) -> CodeJob:
    return CodeJob(
        id=row.id,
        campaign_id=row.campaign_id,
        kind=JobKind(row.kind),
        status=JobStatus(row.status),
        requested=row.requested,
        created=row.created,
        spec=row.spec,
        error=row.error,
        created_at=row.created_at,
        updated_at=row.updated_at,
        finished_at=row.finished_at,
    )


class PoolRepository(Repository):
    async def _driver(self) -> DriverConnection:
        connection = await self.session.connection()
        raw = await connection.get_raw_connection()
        return cast(DriverConnection, raw.driver_connection)

    async def copy_codes(
        self,
        campaign_id: UUID,
        codes: Sequence[tuple[str, str]],
        ids: Sequence[UUID],
        terms: PoolCodes,
    ) -> bool:
        """COPY (display, normalised) codes straight into the pool with the given ids (time
        ordered: domain/pools.time_ordered_ids), each counting its uses on its own row: all of
        them, or none (False) when one is taken already. Drawn codes
        almost never collide, so this is the common path; the staged one handles the rest."""
        assert counts_on_row(terms.source), "pool codes count their uses on their own row"
        shape = (terms.max_redemptions, terms.per_customer_limit, terms.expires_at)
        records = [
            (code_id, campaign_id, code, normalised, *shape, terms.source.value, 0)
            for code_id, (code, normalised) in zip(ids, codes, strict=True)
        ]
        try:
            async with self.session.begin_nested():
                driver = await self._driver()
                await driver.copy_records_to_table(
                    "codes", records=records, columns=_COPIED_COLUMNS
                )
        except UniqueViolationError:
            return False
        return True

    async def stage(self, codes: Sequence[tuple[str, str]]) -> None:
        """COPY (display, normalised) codes into this transaction's staging table, for
        taken_codes and insert_staged; the table is dropped at commit or rollback."""
        # Through the session first, so that its transaction has begun: the driver's own
        # calls do not start one, and the table must live until the INSERT.
        await self.session.execute(_CREATE_STAGING)
        driver = await self._driver()
        await driver.copy_records_to_table("pool_staging", records=codes)

    async def taken_codes(self, limit: int) -> tuple[int, list[tuple[str, str]]]:
        """How many staged codes match an existing code, and up to limit of them as
        (display, normalised)."""
        rows = (await self.session.execute(_TAKEN, {"limit": limit})).all()
        return (rows[0].total if rows else 0), [(row.code, row.normalised) for row in rows]

    async def insert_staged(self, campaign_id: UUID, terms: PoolCodes) -> int:
        """Write the staged codes that are not taken yet in one INSERT ... SELECT, drop the
        staging table, and say how many codes were written."""
        assert counts_on_row(terms.source), "pool codes count their uses on their own row"
        driver = await self._driver()
        status = await driver.execute(
            _INSERT_STAGED,
            campaign_id,
            terms.max_redemptions,
            terms.per_customer_limit,
            terms.expires_at,
            terms.source.value,
        )
        # Dropped here too: under a savepoint (the tests' transactions) commit does not end
        # the transaction, and the next batch creates the table again.
        await self.session.execute(_DROP_STAGING)
        return int(status.rsplit(" ", 1)[1])

    async def export_page(
        self, campaign_id: UUID, *, limit: int, after: tuple[datetime, UUID] | None
    ) -> list[CodeUse]:
        """A page of the campaign's codes in creation order, with their use and last use."""
        params = {
            "campaign_id": campaign_id,
            "limit": limit,
            "after_at": after[0] if after else None,
            "after_id": after[1] if after else None,
        }
        rows = (await self.session.execute(_EXPORT_PAGE, params)).all()
        return [
            CodeUse(
                id=row.id,
                code=row.code,
                max_redemptions=row.max_redemptions,
                used=row.used,
                customer_id=row.customer_id,
                assigned_at=row.assigned_at,
                expires_at=row.expires_at,
                last_redeemed_at=row.last_redeemed_at,
                created_at=row.created_at,
            )
            for row in rows
        ]

    async def claim(self, campaign_id: UUID, customer_id: str, now: datetime) -> Code | None:
        """Hand one free pool code of the campaign to the customer; None when none is left.
        Raises DuplicateKeyError (uq_codes_pool_customer) if the customer got one meanwhile."""
        params = {"campaign_id": campaign_id, "customer_id": customer_id, "now": now}
        async with translating_integrity_errors(self.session):
            code_id = (await self.session.execute(_CLAIM, params)).scalar_one_or_none()
        return None if code_id is None else await self._code(code_id)

    async def held_by(self, campaign_id: UUID, customer_id: str) -> Code | None:
        """The pool code a claim already gave this customer in this campaign."""
        row = (
            await self.session.execute(
                select(*CODE_COLUMNS).where(
                    CodeRow.campaign_id == campaign_id,
                    CodeRow.customer_id == customer_id,
                    CodeRow.source.in_([CodeSource.GENERATED.value, CodeSource.IMPORTED.value]),
                )
            )
        ).one_or_none()
        return None if row is None else code_from_row(row)

    async def _code(self, code_id: UUID) -> Code:
        row = (await self.session.execute(select(*CODE_COLUMNS).where(CodeRow.id == code_id))).one()
        return code_from_row(row)

    async def create_job(
        self,
        *,
        campaign_id: UUID,
        api_key_id: UUID,
        kind: JobKind,
        requested: int,
        spec: dict[str, Any],
    ) -> CodeJob:
        row = (
            await self.session.execute(
                insert(CodeJobRow)
                .values(
                    campaign_id=campaign_id,
                    api_key_id=api_key_id,
                    kind=kind.value,
                    requested=requested,
                    spec=spec,
                )
                .returning(*_JOB_COLUMNS)
            )
        ).one()
        return _job(row)

    async def get_job(self, job_id: UUID) -> CodeJob | None:
        row = (
            await self.session.execute(select(*_JOB_COLUMNS).where(CodeJobRow.id == job_id))
        ).one_or_none()
        return None if row is None else _job(row)

    async def add_progress(self, job_id: UUID, created: int) -> None:
        await self.session.execute(
            update(CodeJobRow)
            .where(CodeJobRow.id == job_id)
            .values(created=CodeJobRow.created + created, updated_at=func.now())
        )

    async def finish_job(self, job_id: UUID, status: JobStatus, error: str | None = None) -> None:
        await self.session.execute(
            update(CodeJobRow)
            .where(CodeJobRow.id == job_id)
            .values(status=status.value, error=error, updated_at=func.now(), finished_at=func.now())
        )
