from uuid import UUID

from fastapi import APIRouter, BackgroundTasks, Response, status

from app.api.deps import AdminKey, DatabaseDep, NowDep, SupportKey, UowDep
from app.api.problems import problem_responses
from app.api.schemas.campaigns import Code
from app.api.schemas.pools import ClaimCreate, CodeGenerationCreate, CodeJob
from app.db.uow import UnitOfWork
from app.services import pools as service

router = APIRouter(tags=["pools"])


@router.post(
    "/v1/campaigns/{campaign_id}/code-generations",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=CodeJob,
    summary="Generate a pool of unique codes (a job: follow it at its Location)",
    description=(
        "Checks the spec, records a job and answers at once; the codes are then written in "
        "batches of 20,000, each batch committed with the job's `created` count. Codes are "
        "drawn from a CSPRNG and kept unique by the database. A spec whose space is too small "
        "for the count is refused with `code_space_too_small`, giving the space and the "
        "largest count it allows."
    ),
    responses=problem_responses(400, 401, 403, 404, 413, 422),
)
async def generate_codes(
    campaign_id: UUID,
    body: CodeGenerationCreate,
    response: Response,
    background: BackgroundTasks,
    uow: UowDep,
    database: DatabaseDep,
    api_key: AdminKey,
) -> CodeJob:
    terms = body.to_terms()
    job = await service.start_generation(uow, campaign_id, api_key.id, terms)
    background.add_task(service.run_generation, lambda: UnitOfWork(database.sessions), job, terms)
    response.headers["Location"] = f"/v1/code-jobs/{job.id}"
    return CodeJob.of(job)


@router.get(
    "/v1/code-jobs/{job_id}",
    response_model=CodeJob,
    summary="A pool job's status and progress",
    responses=problem_responses(401, 403, 404, 422),
)
async def get_code_job(job_id: UUID, uow: UowDep, _: AdminKey) -> CodeJob:
    return CodeJob.of(await service.get_job(uow, job_id))


@router.post(
    "/v1/campaigns/{campaign_id}/claims",
    status_code=status.HTTP_201_CREATED,
    response_model=Code,
    summary="Hand the next free pool code to a customer (the same one on every later claim)",
    description=(
        "Atomic: concurrent claims never hand one code to two customers, and a customer holds "
        "at most one pool code per campaign; claiming again answers 200 with that code. The "
        "code becomes bound to the customer. `pool_exhausted` (409) when no unclaimed, unused, "
        "unexpired code is left."
    ),
    responses={
        200: {"model": Code, "description": "The code this customer already holds"},
        **problem_responses(400, 401, 403, 404, 409, 413, 422),
    },
)
async def claim_code(
    campaign_id: UUID,
    body: ClaimCreate,
    response: Response,
    uow: UowDep,
    _: SupportKey,
    now: NowDep,
) -> Code:
    code, assigned_now = await service.claim_code(uow, campaign_id, body.customer_id, now)
    if not assigned_now:
        response.status_code = status.HTTP_200_OK
    return Code.of(code)
