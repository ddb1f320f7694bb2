import csv
import io
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Request, Response, status
from fastapi.responses import StreamingResponse

from app.api.deps import AdminKey, NowDep, SupportKey, UowDep, UowFactoryDep
from app.api.problems import problem_responses
from app.api.schemas.campaigns import Code
from app.api.schemas.common import MAX_LIMIT, QUERY_INTEGER, Timestamp
from app.api.schemas.pools import ClaimCreate, CodeGenerationCreate, CodeImported, CodeJob
from app.domain.pools import CodeUse
from app.services import pools as service
from app.services.errors import InvalidParameter, UnsupportedMediaType

router = APIRouter(tags=["pools"])


@router.post(
    "/v1/campaigns/{campaign_id}/code-generations",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=CodeJob,
    summary="Generate a pool of unique codes (a job: follow it at its Location)",
    description=(
        "Checks the spec, records a job and queues it, and answers at once. A worker then "
        "writes the codes (`python -m app.worker`, `make worker`: one must be running, or "
        "the job waits in the queue), in batches of 20,000, each batch committed with the "
        "job's `created` count. If the worker stops, another (or the same, restarted) takes "
        "the job over once its lease lapses and continues from `created`, so the job ends "
        "with exactly `requested` codes. Codes are drawn from a CSPRNG and kept unique by "
        "the database. A spec whose space is too small for the count is refused with "
        "`code_space_too_small`, giving the space and the largest count it allows."
    ),
    responses=problem_responses(400, 401, 403, 404, 413, 422),
)
async def generate_codes(
    campaign_id: UUID,
    body: CodeGenerationCreate,
    response: Response,
    uow: UowDep,
    api_key: AdminKey,
) -> CodeJob:
    job = await service.start_generation(uow, campaign_id, api_key.id, body.to_terms())
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
    key: SupportKey,
    now: NowDep,
) -> Code:
    code, assigned_now = await service.claim_code(
        uow, campaign_id, body.customer_id, now, actor=key.id
    )
    if not assigned_now:
        response.status_code = status.HTTP_200_OK
    return Code.of(code)


_CSV_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "text/csv": {
                "schema": {"type": "string"},
                "example": "code\nSPRING-7KQ2\nSPRING-M4XR\n",
            }
        },
    }
}


@router.post(
    "/v1/campaigns/{campaign_id}/code-imports",
    status_code=status.HTTP_201_CREATED,
    response_model=CodeImported,
    summary="Import existing codes into the campaign's pool from CSV, all or nothing",
    description=(
        "The body is UTF-8 CSV whose header row names a `code` column (other columns are "
        "ignored), up to the request body limit. A malformed row, a code repeated in the file "
        "or a code that already exists refuses the whole file with `import_rejected`, listing "
        "up to 100 problems by line; nothing is written. Imported codes are pool codes: "
        "claimable, single use unless `max_redemptions` says otherwise."
    ),
    responses=problem_responses(401, 403, 404, 413, 415, 422),
    openapi_extra=_CSV_BODY,
)
async def import_codes(
    campaign_id: UUID,
    request: Request,
    uow: UowDep,
    key: AdminKey,
    max_redemptions: Annotated[
        int, Query(ge=1, le=MAX_LIMIT, description="Uses per code"), QUERY_INTEGER
    ] = 1,
    per_customer_limit: Annotated[int | None, Query(ge=1, le=MAX_LIMIT), QUERY_INTEGER] = None,
    expires_at: Annotated[Timestamp | None, Query()] = None,
) -> CodeImported:
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type != "text/csv":
        raise UnsupportedMediaType("Send the codes as 'Content-Type: text/csv'.")
    try:
        text = (await request.body()).decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidParameter("The CSV file is not UTF-8.", fields=["body"]) from exc
    terms = service.ImportTerms(max_redemptions, per_customer_limit, expires_at)
    imported = await service.import_codes(uow, campaign_id, text, terms, actor=key.id)
    return CodeImported(imported=imported)


_EXPORT_COLUMNS = ("code", "status", "customer_id", "assigned_at", "redeemed_at", "expires_at")


def _iso(value: datetime | None) -> str:
    return "" if value is None else value.isoformat()


# A cell a spreadsheet would run as a formula (OWASP "CSV injection"): a customer id such as
# =HYPERLINK(...) must be shown, not evaluated. A leading apostrophe makes it text.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: str) -> str:
    return "'" + value if value.startswith(_FORMULA_STARTS) else value


def _csv_rows(page: list[CodeUse], now: datetime) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerows(
        (
            _cell(use.code),
            use.state(now).value,
            _cell(use.customer_id or ""),
            _iso(use.assigned_at),
            _iso(use.last_redeemed_at),
            _iso(use.expires_at),
        )
        for use in page
    )
    return buffer.getvalue().encode()


@router.get(
    "/v1/campaigns/{campaign_id}/codes/export",
    summary="Stream the campaign's codes as CSV",
    description=(
        "Columns: " + ", ".join(f"`{c}`" for c in _EXPORT_COLUMNS) + ". `status` is "
        "`available`, `assigned` (claimed by `customer_id`), `redeemed` (no use left) or "
        "`expired`; `redeemed_at` is the last use that was not rolled back. Streamed in pages "
        "of 5,000 codes, oldest first. A value that a spreadsheet would run as a formula "
        "(starting with `=`, `+`, `-`, `@`, a tab or a carriage return) is written with a "
        "leading `'`, so it shows as text."
    ),
    response_class=StreamingResponse,
    responses={
        200: {"content": {"text/csv": {"schema": {"type": "string"}}}, "description": "CSV"},
        **problem_responses(401, 403, 404, 422),
    },
)
async def export_codes(
    campaign_id: UUID, new_uow: UowFactoryDep, _: AdminKey, now: NowDep
) -> StreamingResponse:
    pages = await service.export_codes(new_uow, campaign_id)

    async def body() -> AsyncIterator[bytes]:
        yield (",".join(_EXPORT_COLUMNS) + "\n").encode()
        async for page in pages:
            yield _csv_rows(page, now)

    return StreamingResponse(
        body(),
        media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="codes-{campaign_id}.csv"'},
    )
