from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from app.api.deps import UowFactoryDep
from app.api.problems import problem_responses
from app.services.health import ReadinessProbe

router = APIRouter(tags=["health"])


class Health(BaseModel):
    status: str


class Readiness(BaseModel):
    status: str
    migration: str = Field(description="The Alembic revision the database is at")
    schema_is_newer: bool = Field(
        description="The database was migrated past this build's head (a rolling deploy "
        "upgrades it before the old instances go); this build still serves it"
    )


@router.get("/healthz", response_model=Health, summary="Liveness: the process is up")
async def healthz() -> Health:
    return Health(status="ok")


@router.get(
    "/readyz",
    response_model=Readiness,
    summary="Readiness: the database answers and its schema is one this build serves",
    description=(
        "Ready when the database answers within `TESSERA_DB__READY_TIMEOUT_MS` (1.5 s) and is "
        "at this build's migration head or at a newer revision this build does not know. "
        "Otherwise 503, within that deadline, whatever the database does."
    ),
    responses=problem_responses(503),
)
async def readyz(request: Request, new_uow: UowFactoryDep) -> Readiness:
    probe: ReadinessProbe = request.app.state.readiness
    ready = await probe.check(new_uow)
    return Readiness(status="ok", migration=ready.revision, schema_is_newer=ready.is_newer)
