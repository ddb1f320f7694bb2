"""What every repository shares: the session it works in, and constraint-error translation."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Self

from asyncpg.exceptions import CheckViolationError as PgCheckViolation
from asyncpg.exceptions import UniqueViolationError as PgUniqueViolation
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.errors import CheckViolationError, DuplicateKeyError


class Repository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    @classmethod
    def from_session(cls, session: AsyncSession) -> Self:
        return cls(session)


@asynccontextmanager
async def translating_integrity_errors(session: AsyncSession) -> AsyncIterator[None]:
    """Run a write in a savepoint and turn constraint violations into db.errors, leaving the
    surrounding transaction usable."""
    try:
        async with session.begin_nested():
            yield
    except IntegrityError as exc:
        cause = exc.orig.__cause__ if exc.orig is not None else None
        name = getattr(cause, "constraint_name", None) or ""
        if isinstance(cause, PgUniqueViolation):
            raise DuplicateKeyError(name) from exc
        if isinstance(cause, PgCheckViolation):
            raise CheckViolationError(name) from exc
        raise
