"""create_app(): the FastAPI application, its lifespan, middleware, handlers and routers."""

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from alembic.script import ScriptDirectory
from fastapi import Depends, FastAPI
from fastapi.routing import APIRoute
from sqlalchemy.exc import SQLAlchemyError

from app.api.deps import reject_unknown_query_parameters
from app.api.middleware import RequestContextMiddleware
from app.api.problems import install_problem_handlers
from app.api.routers import (
    api_keys,
    balances,
    campaigns,
    health,
    loyalty,
    metrics,
    pools,
    redemptions,
    support,
    validations,
)
from app.db.engine import Database, create_engine
from app.db.pool_metrics import instrument_pool
from app.db.uow import UnitOfWork
from app.logs import configure_logging
from app.metrics import forget_dead_processes, process_stopping
from app.services.api_keys import ensure_bootstrap_admin_key
from app.services.pools import fail_stalled_jobs
from app.settings import Settings, get_settings

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"
logger = logging.getLogger("tessera")


def migration_head() -> str:
    head = ScriptDirectory(str(MIGRATIONS)).get_current_head()
    assert head is not None, "the migrations folder has no revision"
    return head


def _operation_id(route: APIRoute) -> str:
    return f"{route.tags[0]}-{route.name}" if route.tags else route.name


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    engine = create_engine(settings)
    instrument_pool(engine)
    forget_dead_processes()
    database = Database.on(engine)
    app.state.database = database
    try:
        if settings.bootstrap_admin_key is not None:
            created = await ensure_bootstrap_admin_key(
                UnitOfWork(database.sessions), settings.bootstrap_admin_key.get_secret_value()
            )
            if created:
                logger.info("installed the bootstrap admin key from TESSERA_BOOTSTRAP_ADMIN_KEY")
        try:
            stalled = await fail_stalled_jobs(UnitOfWork(database.sessions))
        except SQLAlchemyError:
            # Not migrated yet, or the database is away: /readyz says so; serve anyway.
            logger.exception("could not look for code jobs left running")
        else:
            if stalled:
                logger.warning("ended %d code job(s) left running by a stopped worker", stalled)
        yield
    finally:
        await engine.dispose()
        process_stopping()


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    configure_logging(settings.log_format, settings.log_level)
    app = FastAPI(
        title="Tessera",
        version="0.1.0",
        summary="A promotion engine for the checkout: coupons, limits, budgets, on PostgreSQL.",
        lifespan=lifespan,
        generate_unique_id_function=_operation_id,
        dependencies=[Depends(reject_unknown_query_parameters)],
    )
    app.state.settings = settings
    app.state.migration_head = migration_head()
    install_problem_handlers(app)
    app.add_middleware(RequestContextMiddleware, max_body_bytes=settings.api.max_body_bytes)
    for module in (
        health,
        api_keys,
        campaigns,
        pools,
        support,
        loyalty,
        balances,
        validations,
        redemptions,
        metrics,  # last: every route listed before validate's costs it a match attempt
    ):
        app.include_router(module.router)
    return app
