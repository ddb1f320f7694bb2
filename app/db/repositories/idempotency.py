from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from uuid import UUID

from sqlalchemy import func, literal, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert

from app.db.models import IdempotencyKey
from app.db.repositories.base import Repository

# A key older than this is forgotten: the next request with it runs as new (and a purge
# deletes it).
KEY_LIFETIME = timedelta(hours=24)


@dataclass(frozen=True, slots=True)
class StoredResponse:
    request_hash: bytes
    status: int | None
    body: dict[str, Any] | None


_STORE = text(
    "UPDATE idempotency_keys SET response_status = :status, response_body = CAST(:body AS json)"
    " WHERE api_key_id = :api_key_id AND key = :key"
)


class IdempotencyRepository(Repository):
    async def claim(self, api_key_id: UUID, key: str, request_hash: bytes) -> bool:
        """Claim key for this request inside the caller's transaction.

        True: the caller owns the key and must store its response before committing. False: a
        committed request already holds it (read it with load()). A concurrent holder that has
        not committed makes this wait for its outcome, so a duplicate sees the first answer.
        """
        insert_key = pg_insert(IdempotencyKey).values(
            api_key_id=api_key_id, key=key, request_hash=request_hash
        )
        stmt = insert_key.on_conflict_do_update(
            index_elements=[IdempotencyKey.api_key_id, IdempotencyKey.key],
            set_={
                "request_hash": insert_key.excluded.request_hash,
                "response_status": None,
                "response_body": None,
                "created_at": func.now(),
            },
            where=IdempotencyKey.created_at < func.now() - literal(KEY_LIFETIME),
        ).returning(IdempotencyKey.key)
        return (await self.session.execute(stmt)).first() is not None

    async def load(self, api_key_id: UUID, key: str) -> StoredResponse:
        row = (
            await self.session.execute(
                select(
                    IdempotencyKey.request_hash,
                    IdempotencyKey.response_status,
                    IdempotencyKey.response_body,
                ).where(IdempotencyKey.api_key_id == api_key_id, IdempotencyKey.key == key)
            )
        ).one()
        return StoredResponse(
            request_hash=row.request_hash, status=row.response_status, body=row.response_body
        )

    async def store(self, api_key_id: UUID, key: str, status: int, body: bytes) -> None:
        """Store the answer as rendered (app/rendering.py): the json column keeps its text as
        sent, so a replay sends the same bytes."""
        await self.session.execute(
            _STORE,
            {"api_key_id": api_key_id, "key": key, "status": status, "body": body.decode()},
        )
