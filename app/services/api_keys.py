"""API keys: created once and shown once, stored only as a SHA-256 digest.

A key is 32 random bytes, so a fast digest is as safe as a slow password hash here and lets
every request find its key by an indexed equality lookup.
"""

import hashlib
import secrets
from dataclasses import dataclass
from uuid import UUID

from app.db.uow import StatementUnitOfWork, UnitOfWork
from app.domain.api_keys import ApiKey, Scope
from app.domain.audit import Action, AuditEntry
from app.services.errors import ApiKeyNotFound, Forbidden, Unauthorized

KEY_PREFIX = "tsk_"


@dataclass(frozen=True, slots=True)
class CreatedApiKey:
    record: ApiKey
    secret: str


def hash_key(raw_key: str) -> bytes:
    return hashlib.sha256(raw_key.encode()).digest()


def new_secret() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def check_access(record: ApiKey | None, *scopes: Scope) -> ApiKey:
    """The key, if it is active and holds one of scopes (admin holds every scope)."""
    if record is None:
        raise Unauthorized("The API key is unknown or revoked.")
    if not any(record.holds(scope) for scope in scopes):
        needed = "' or '".join(scopes)
        raise Forbidden(f"This operation needs the '{needed}' scope.")
    return record


async def authenticate(reads: StatementUnitOfWork, raw_key: str, *scopes: Scope) -> ApiKey:
    """The active key behind a bearer token, if it holds one of scopes. One indexed read: a
    revoked key stops working on the next request."""
    async with reads:
        record = await reads.checkout.authenticate(hash_key(raw_key))
    return check_access(record, *scopes)


async def create_api_key(
    uow: UnitOfWork, name: str, scopes: list[Scope], *, actor: UUID | None
) -> CreatedApiKey:
    """Create a key; its secret is returned here and never again."""
    secret = new_secret()
    async with uow:
        record = await uow.api_keys.insert(
            name=name,
            key_prefix=secret[:12],
            key_hash=hash_key(secret),
            scopes=sorted({s.value for s in scopes}),
        )
        await uow.audit.record(
            AuditEntry(
                Action.API_KEY_CREATED,
                actor,
                subject_id=record.id,
                details={"name": name, "scopes": list(record.scopes)},
            )
        )
        await uow.commit()
    return CreatedApiKey(record=record, secret=secret)


async def list_api_keys(uow: UnitOfWork) -> list[ApiKey]:
    async with uow:
        return await uow.api_keys.list_all()


async def revoke_api_key(uow: UnitOfWork, key_id: UUID, *, actor: UUID | None) -> ApiKey:
    """Revoke a key; it stops working on the next request. Revoking twice is harmless."""
    async with uow:
        record = await uow.api_keys.revoke(key_id)
        if record is None:
            raise ApiKeyNotFound(f"No API key has id {key_id}.")
        await uow.audit.record(AuditEntry(Action.API_KEY_REVOKED, actor, subject_id=key_id))
        await uow.commit()
    return record


async def ensure_bootstrap_admin_key(uow: UnitOfWork, raw_key: str) -> bool:
    """Install raw_key as an admin key when no active admin key exists. Safe to run from every
    worker at once: a transaction-scoped advisory lock lets one of them decide."""
    async with uow:
        await uow.api_keys.lock_bootstrap()
        if await uow.api_keys.has_active_admin():
            return False
        record = await uow.api_keys.insert(
            name="bootstrap admin",
            key_prefix=raw_key[:12],
            key_hash=hash_key(raw_key),
            scopes=[Scope.ADMIN.value],
        )
        # No key acted: the service installed it from its configuration.
        await uow.audit.record(
            AuditEntry(
                Action.API_KEY_CREATED,
                None,
                subject_id=record.id,
                details={"name": record.name, "scopes": list(record.scopes), "bootstrap": True},
            )
        )
        await uow.commit()
    return True
