"""Idempotent writes: the first request with a key does the work and stores its answer; a
retry with the same key and body gets that answer (or the resource as it is now, when it has
changed since: a rolled-back redemption is never replayed as succeeded); the same key with
another body is refused.

`write_once` is the one envelope of every write that takes an Idempotency-Key and runs in a
transaction: claim the key, replay or do the work, render its answer once, store those bytes
with the key, commit, and send the same bytes. The checkout's one-statement writes (redeem,
reward spend) claim and store inside their statement (db/repositories/checkout_writes.py) and
replay through `replay`.
"""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar
from uuid import UUID

from app.db.repositories.idempotency import StoredResponse
from app.db.uow import UnitOfWork
from app.rendering import render
from app.services.errors import AppError, IdempotencyKeyReused

R = TypeVar("R")

# What a stored answer is: done, or a refusal that a retry gets again. Kept as the numbers the
# column held when it stored HTTP statuses, so rows written before still read right.
DONE = 200
REFUSED = 409


@dataclass(frozen=True, slots=True)
class IdempotencyClaim:
    api_key_id: UUID
    key: str
    request_hash: bytes


@dataclass(frozen=True, slots=True)
class Written(Generic[R]):
    """An idempotent write's answer: the typed result of its work; for a retry, the first
    request's stored answer as JSON values, or the resource as it is now (a `current` replay),
    and replayed set."""

    answer: R | dict[str, Any]
    replayed: bool = False
    rendered: bytes | None = None
    """The answer as the write rendered it to store it, when it did: the response sends the
    same bytes instead of rendering the answer again."""


@dataclass(frozen=True, slots=True)
class StoredAnswer:
    status: int
    body: dict[str, Any]

    @property
    def is_refusal(self) -> bool:
        return self.status == REFUSED


class StoredRefusal(Exception):
    """Raised by a write's work to refuse, with an answer a retry gets again: the envelope
    stores it with the key, commits, and raises error."""

    def __init__(self, error: AppError, answer: dict[str, Any]) -> None:
        super().__init__(error.detail)
        self.error = error
        self.answer = answer


def _checked(claim: IdempotencyClaim, stored: StoredResponse) -> StoredAnswer:
    if stored.request_hash != claim.request_hash:
        raise IdempotencyKeyReused(
            "This Idempotency-Key was sent before with a different request; "
            "use a new key for a new request."
        )
    # A holder that had not committed made claim() wait; a committed one stored its answer.
    assert stored.status is not None, "a committed key always has its answer"
    assert stored.body is not None, "a committed key always has its answer"
    return StoredAnswer(stored.status, stored.body)


Refuse = Callable[[StoredAnswer], AppError]
Current = Callable[[StoredAnswer], Awaitable[R]]


async def replay(
    claim: IdempotencyClaim,
    stored: StoredResponse,
    *,
    refuse: Refuse | None = None,
    current: Current[R] | None = None,
) -> Written[R]:
    """The answer to a retry whose key was claimed and answered in one statement."""
    return await _replayed(_checked(claim, stored), refuse, current)


async def _replayed(
    answer: StoredAnswer, refuse: Refuse | None, current: Current[R] | None
) -> Written[R]:
    """Refused again (refuse builds the error from the stored refusal), the resource as it is
    now (current), or the stored answer."""
    if answer.is_refusal:
        assert refuse is not None, "only writes that store refusals have them"
        raise refuse(answer)
    if current is not None:
        return Written(await current(answer), replayed=True)
    return Written(answer.body, replayed=True)


async def _claim_or_replay(uow: UnitOfWork, claim: IdempotencyClaim) -> StoredAnswer | None:
    """Inside the caller's transaction: None when this request owns the key (it must store
    its answer before committing), else the answer stored by the first request."""
    if await uow.idempotency.claim(claim.api_key_id, claim.key, claim.request_hash):
        return None
    return _checked(claim, await uow.idempotency.load(claim.api_key_id, claim.key))


async def write_once(
    uow: UnitOfWork,
    claim: IdempotencyClaim,
    work: Callable[[], Awaitable[R]],
    *,
    refuse: Refuse | None = None,
    current: Current[R] | None = None,
) -> Written[R]:
    """The work, once per Idempotency-Key, in one transaction with the key's claim and its
    stored answer (a crash leaves neither). A duplicate arriving while the first runs waits
    for it (the claim) and gets its answer. The work may raise StoredRefusal to refuse with an
    answer that is kept for retries; any other exception leaves nothing behind."""
    async with uow:
        stored = await _claim_or_replay(uow, claim)
        if stored is not None:
            return await _replayed(stored, refuse, current)
        try:
            result = await work()
        except StoredRefusal as refused:
            answer = render(refused.answer)
            await uow.idempotency.store(claim.api_key_id, claim.key, REFUSED, answer)
            await uow.commit()
            raise refused.error from None
        rendered = render(result)
        await uow.idempotency.store(claim.api_key_id, claim.key, DONE, rendered)
        await uow.commit()
    return Written(result, rendered=rendered)
