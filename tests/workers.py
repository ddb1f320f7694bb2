"""Running the worker's jobs from a test, in the test's own process: a Worker on the test's
database, and a loop that runs every job due."""

from dataclasses import replace
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.clock import utc_now
from app.db.engine import Database
from app.db.uow import StatementUnitOfWork, UnitOfWork
from app.services import jobs
from app.settings import JobSettings, Settings


def worker_on(database: Database, settings: Settings, **job_settings: int | float) -> jobs.Worker:
    """A worker's means on database; job_settings replace some of settings.jobs."""
    if job_settings:
        settings = settings.model_copy(
            update={"jobs": JobSettings(**(settings.jobs.model_dump() | job_settings))}
        )
    return jobs.Worker(
        new_uow=lambda: UnitOfWork(database.sessions),
        new_statements=lambda: StatementUnitOfWork(database.connect_for_read),
        settings=settings,
        name="test",
    )


def stopping_after(worker: jobs.Worker, calls: int) -> jobs.Worker:
    """The worker, asked to stop once it has asked whether to stop `calls` times (a job that
    works in steps asks before each)."""
    asked = 0

    def stopping() -> bool:
        nonlocal asked
        asked += 1
        return asked > calls

    return replace(worker, stopping=stopping)


async def run_due_jobs(worker: jobs.Worker, now: datetime | None = None) -> list[jobs.Ran]:
    """Run jobs due at now (the wall clock's) one after the other until none is due, as a
    worker would; what each run came to."""
    ran: list[jobs.Ran] = []
    while (one := await jobs.run_one(worker, now or utc_now())) is not None:
        ran.append(one)
    return ran


async def empty_jobs(engine: AsyncEngine) -> None:
    """Delete every job: for tests on committing connections, whose fixtures empty the other
    tables."""
    async with engine.begin() as conn:
        await conn.execute(text("TRUNCATE jobs"))
