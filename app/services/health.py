from app.db.uow import UnitOfWork
from app.services.errors import ServiceUnavailable


async def check_readiness(uow: UnitOfWork, expected_revision: str) -> str:
    """The database's migration revision, if it answers and is at expected_revision."""
    async with uow:
        revision = await uow.schema.current_revision()
    if revision != expected_revision:
        raise ServiceUnavailable(
            f"The database schema is at {revision or 'no revision'}, not {expected_revision}; "
            "run the migrations.",
        )
    return revision
