from uuid import UUID

from sqlalchemy import func, insert, select, update

from app.db.locking import LockNamespace, advisory_xact_lock
from app.db.mappers import AnyRow
from app.db.models import ApiKey
from app.db.repositories.base import Repository
from app.domain.api_keys import ApiKey as ApiKeyValue
from app.domain.api_keys import Scope

_COLUMNS = (
    ApiKey.id,
    ApiKey.name,
    ApiKey.key_prefix,
    ApiKey.scopes,
    ApiKey.created_at,
    ApiKey.revoked_at,
)


class ApiKeyRepository(Repository):
    async def insert(
        self, *, name: str, key_prefix: str, key_hash: bytes, scopes: list[str]
    ) -> ApiKeyValue:
        row = (
            await self.session.execute(
                insert(ApiKey)
                .values(name=name, key_prefix=key_prefix, key_hash=key_hash, scopes=scopes)
                .returning(*_COLUMNS)
            )
        ).one()
        return _record(row)

    async def list_all(self) -> list[ApiKeyValue]:
        rows = await self.session.execute(select(*_COLUMNS).order_by(ApiKey.created_at, ApiKey.id))
        return [_record(row) for row in rows]

    async def exists(self, key_id: UUID) -> bool:
        stmt = select(select(ApiKey.id).where(ApiKey.id == key_id).exists())
        return bool((await self.session.execute(stmt)).scalar_one())

    async def revoke(self, key_id: UUID) -> ApiKeyValue | None:
        """Revoke once; revoking again returns the key unchanged."""
        row = (
            await self.session.execute(
                update(ApiKey)
                .where(ApiKey.id == key_id)
                .values(revoked_at=func.coalesce(ApiKey.revoked_at, func.now()))
                .returning(*_COLUMNS)
            )
        ).one_or_none()
        return None if row is None else _record(row)

    async def lock_bootstrap(self) -> None:
        await advisory_xact_lock(self.session, LockNamespace.BOOTSTRAP_ADMIN, 0)

    async def has_active_admin(self) -> bool:
        stmt = select(
            select(ApiKey.id)
            .where(ApiKey.scopes.contains(["admin"]), ApiKey.revoked_at.is_(None))
            .exists()
        )
        return bool((await self.session.execute(stmt)).scalar_one())


def _record(row: AnyRow) -> ApiKeyValue:
    return ApiKeyValue(
        id=row.id,
        name=row.name,
        key_prefix=row.key_prefix,
        scopes=tuple(Scope(s) for s in row.scopes),
        created_at=row.created_at,
        revoked_at=row.revoked_at,
    )
