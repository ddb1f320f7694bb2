from fastapi import APIRouter, Request
from pydantic import BaseModel

from app.api.deps import UowDep
from app.api.problems import problem_responses
from app.services.health import check_readiness

router = APIRouter(tags=["health"])


class Health(BaseModel):
    status: str


class Readiness(BaseModel):
    status: str
    migration: str


@router.get("/healthz", response_model=Health, summary="Liveness: the process is up")
async def healthz() -> Health:
    return Health(status="ok")


@router.get(
    "/readyz",
    response_model=Readiness,
    summary="Readiness: the database answers and its schema is at the migrations' head",
    responses=problem_responses(503),
)
async def readyz(request: Request, uow: UowDep) -> Readiness:
    revision = await check_readiness(uow, request.app.state.migration_head)
    return Readiness(status="ok", migration=revision)
