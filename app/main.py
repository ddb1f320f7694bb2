"""create_app(): the FastAPI application, its lifespan, middleware, handlers and routers."""

import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from alembic.script import ScriptDirectory
from fastapi import Depends, FastAPI

from app.api.deps import check_request
from app.api.middleware import RequestContextMiddleware
from app.api.openapi import install_openapi, operation_id
from app.api.problems import install_problem_handlers, route_methods
from app.api.routers import (
    api_keys,
    balances,
    campaigns,
    docs,
    events,
    health,
    holds,
    loyalty,
    metrics,
    pools,
    purges,
    redemptions,
    referrals,
    support,
    validations,
)
from app.db.engine import Database, create_engine, session_settings
from app.db.uow import UnitOfWork
from app.logs import configure_logging
from app.metrics import forget_dead_processes, process_stopping
from app.services.api_keys import ensure_bootstrap_admin_key
from app.services.health import ReadinessProbe
from app.settings import Settings, get_settings

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"
logger = logging.getLogger("tessera")


def migration_revisions() -> tuple[str, frozenset[str]]:
    """This build's migration head and every revision it knows."""
    scripts = ScriptDirectory(str(MIGRATIONS))
    head = scripts.get_current_head()
    assert head is not None, "the migrations folder has no revision"
    return head, frozenset(script.revision for script in scripts.walk_revisions())


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    engine = create_engine(settings)
    replica = None
    if settings.read_database_url is not None:
        replica = create_engine(settings, settings.read_database_url)
    forget_dead_processes()
    database = Database.on(engine, replica)
    app.state.database = database
    try:
        if settings.bootstrap_admin_key is not None:
            created = await ensure_bootstrap_admin_key(
                UnitOfWork(database.sessions), settings.bootstrap_admin_key.get_secret_value()
            )
            if created:
                logger.info("installed the bootstrap admin key from TESSERA_BOOTSTRAP_ADMIN_KEY")
        # What start-up built (modules, the app, its routes and models) lives as long as the
        # process: frozen, the collector's full passes walk only what requests made since
        # (the worker does the same for its jobs: app/worker.py).
        gc.freeze()
        yield
    finally:
        gc.unfreeze()
        await engine.dispose()
        if replica is not None:
            await replica.dispose()
        process_stopping()


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    configure_logging(settings.log_format, settings.log_level)
    app = FastAPI(
        title="Tessera",
        version="0.1.0",
        summary="A promotion engine for the checkout: coupons, limits, budgets, on PostgreSQL.",
        lifespan=lifespan,
        generate_unique_id_function=operation_id,
        dependencies=[Depends(check_request)],
        # Served by routers/docs.py, offline and as routes of their own.
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    head, known = migration_revisions()
    app.state.readiness = ReadinessProbe(
        head, known, settings.db.ready_timeout_ms / 1000, session_settings(settings.db)
    )
    install_problem_handlers(app)
    install_openapi(app)
    app.add_middleware(RequestContextMiddleware, max_body_bytes=settings.api.max_body_bytes)
    # Routes are matched in order: the checkout's hot paths first (matching ~40 routes before
    # validate's cost it ~110 µs a request).
    routers = [
        module.router
        for module in (
            validations,
            redemptions,
            holds,
            health,
            api_keys,
            campaigns,
            pools,
            support,
            loyalty,
            balances,
            purges,
            events,
            referrals,
            metrics,
            docs,
        )
    ]
    for router in routers:
        app.include_router(router)
    # The routers' own routes: app.routes holds only the included routers themselves.
    app.state.route_methods = route_methods(route for router in routers for route in router.routes)
    return app
