"""Idempotent writes: the first request with a key does the work and stores its answer; a
retry with the same key and body gets that answer; the same key with another body is refused."""

from dataclasses import dataclass
from typing import Any
from uuid import UUID

from app.db.uow import UnitOfWork
from app.services.errors import IdempotencyKeyReused


@dataclass(frozen=True, slots=True)
class IdempotencyClaim:
    api_key_id: UUID
    key: str
    request_hash: bytes


@dataclass(frozen=True, slots=True)
class Written:
    """An idempotent write's answer, and whether it replays the first request's."""

    body: dict[str, Any]
    replayed: bool


@dataclass(frozen=True, slots=True)
class StoredAnswer:
    status: int
    body: dict[str, Any]


async def claim_or_replay(uow: UnitOfWork, claim: IdempotencyClaim) -> StoredAnswer | None:
    """Inside the caller's transaction: None when this request owns the key (it must store
    its answer before committing), else the answer stored by the first request."""
    if await uow.idempotency.claim(claim.api_key_id, claim.key, claim.request_hash):
        return None
    stored = await uow.idempotency.load(claim.api_key_id, claim.key)
    if stored.request_hash != claim.request_hash:
        raise IdempotencyKeyReused(
            "This Idempotency-Key was sent before with a different request; "
            "use a new key for a new request."
        )
    # A holder that had not committed made claim() wait; a committed one stored its answer.
    assert stored.status is not None, "a committed key always has its response"
    assert stored.body is not None, "a committed key always has its response"
    return StoredAnswer(stored.status, stored.body)
