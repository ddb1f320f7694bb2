"""Pools of unique codes: generating them in bulk as a job, and claiming one per customer."""

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import asdict, dataclass, fields
from datetime import datetime
from typing import Any
from uuid import UUID

from app.clock import utc_now
from app.db.errors import DuplicateKeyError
from app.db.uow import UnitOfWork
from app.domain import jobs
from app.domain.audit import Action, AuditEntry
from app.domain.campaigns import Code, CodeSource
from app.domain.codegen import DEFAULT_CHARSET, CodeSpec, CodeSpecError, generate, parse_spec
from app.domain.pools import (
    CodeJob,
    CodeUse,
    ImportProblem,
    JobKind,
    JobStatus,
    PoolCodes,
    read_code_csv,
    time_ordered_ids,
)
from app.services.campaigns import code_campaign
from app.services.errors import (
    CampaignNotFound,
    CodeSpaceTooSmall,
    ImportRejected,
    InvalidCodeSpec,
    JobNotFound,
    PoolExhausted,
)

# Codes written per transaction: the job's progress moves in these steps, and memory holds one
# batch at a time whatever the count.
BATCH_SIZE = 20_000
# Batches in a row that write nothing (every drawn code already taken) before a job gives up.
# With the space at least MIN_SPACE_PER_CODE times the count, one is already unlikely.
_FRUITLESS_BATCHES = 3


@dataclass(frozen=True, slots=True)
class GenerationTerms:
    count: int
    charset: str = DEFAULT_CHARSET
    length: int | None = None
    pattern: str | None = None
    prefix: str = ""
    suffix: str = ""
    max_redemptions: int | None = 1
    per_customer_limit: int | None = None
    expires_at: datetime | None = None

    def code_spec(self) -> CodeSpec:
        """The parsed spec, refused when it cannot make codes or too few to stay unguessable."""
        try:
            spec = parse_spec(
                charset=self.charset,
                length=self.length,
                pattern=self.pattern,
                prefix=self.prefix,
                suffix=self.suffix,
            )
        except CodeSpecError as exc:
            raise InvalidCodeSpec(str(exc), fields=[exc.field]) from exc
        try:
            spec.check_count(self.count)
        except CodeSpecError as exc:
            raise CodeSpaceTooSmall(
                str(exc),
                space=spec.space,
                requested=self.count,
                max_count=spec.max_unguessable_count(),
            ) from exc
        return spec

    def as_json(self) -> dict[str, Any]:
        terms = asdict(self)
        if self.expires_at is not None:
            terms["expires_at"] = self.expires_at.isoformat()
        return terms

    @classmethod
    def from_json(cls, terms: Mapping[str, Any]) -> "GenerationTerms":
        """The terms as_json wrote (a code job's spec); keys it does not know are left out."""
        known = {field.name for field in fields(cls)}
        expires_at = terms.get("expires_at")
        return cls(
            **{
                **{name: value for name, value in terms.items() if name in known},
                "expires_at": None if expires_at is None else datetime.fromisoformat(expires_at),
            }
        )


async def start_generation(
    uow: UnitOfWork,
    campaign_id: UUID,
    api_key_id: UUID,
    terms: GenerationTerms,
    *,
    batch_size: int | None = None,
) -> CodeJob:
    """Check the request, record the code job and queue the job that writes its codes, in one
    transaction: a recorded code job always has a job to run it (a worker's: services/jobs.py),
    whatever stops when. batch_size overrides BATCH_SIZE for this job (tests)."""
    terms.code_spec()
    async with uow:
        await code_campaign(uow, campaign_id)
        job = await uow.pools.create_job(
            campaign_id=campaign_id,
            api_key_id=api_key_id,
            kind=JobKind.GENERATE,
            requested=terms.count,
            spec=terms.as_json(),
        )
        payload: dict[str, Any] = {"code_job_id": str(job.id)}
        if batch_size is not None:
            payload["batch_size"] = batch_size
        await uow.jobs.enqueue(jobs.JobKind.GENERATE_CODES, payload)
        await uow.audit.record(
            AuditEntry(
                Action.CODES_GENERATION_STARTED,
                api_key_id,
                campaign_id=campaign_id,
                subject_id=job.id,
                details={"count": terms.count},
            )
        )
        await uow.commit()
    return job


async def run_generation(
    new_uow: Callable[[], UnitOfWork],
    job_id: UUID,
    begin_batch: Callable[[UnitOfWork], Awaitable[None]],
    batch_size: int = BATCH_SIZE,
) -> None:
    """Write the rest of a code job's codes, from its count of those written to exactly the
    count requested, batch by batch. Each batch is one transaction: begin_batch first (the
    caller's fence: it renews the lease of the job running this, locking that job's row, and
    raises to stop), then the code job's count is read, the codes written and counted, and the
    transaction commits. So the count is always the number of codes that exist, and a run that
    takes over from a dead one continues from it. Codes that collide with existing ones are
    drawn again. The code job succeeds with its last batch; a failure is raised to the caller,
    which tries again later or ends the code job (fail_generation)."""
    shape: PoolCodes | None = None
    spec: CodeSpec | None = None
    fruitless = 0
    while True:
        async with new_uow() as uow:
            await begin_batch(uow)
            # Read after the fence: the job's row is locked now, and only its holder writes
            # this code job, so the count cannot move until this transaction ends.
            job = await uow.pools.get_job(job_id)
            if job is None:
                raise JobNotFound(f"No code job has id {job_id}.")
            if job.status is not JobStatus.RUNNING:
                return
            if spec is None or shape is None:
                terms = GenerationTerms.from_json(job.spec)
                spec = terms.code_spec()
                shape = PoolCodes(
                    CodeSource.GENERATED,
                    terms.max_redemptions,
                    terms.per_customer_limit,
                    terms.expires_at,
                )
            remaining = job.requested - job.created
            written = 0
            if remaining > 0:
                # Generated codes are ASCII: lower() is their normalised form.
                batch = [
                    (code, code.lower()) for code in generate(spec, min(batch_size, remaining))
                ]
                ids = time_ordered_ids(len(batch), utc_now())
                if await uow.pools.copy_codes(job.campaign_id, batch, ids, shape):
                    written = len(batch)
                else:
                    # One of them is taken: write the others, and draw again for the rest.
                    await uow.pools.stage(batch)
                    written = await uow.pools.insert_staged(job.campaign_id, shape)
                await uow.pools.add_progress(job.id, written)
            if written == remaining:
                await uow.pools.finish_job(job.id, JobStatus.SUCCEEDED)
            await uow.commit()
        if written == remaining:
            return
        fruitless = 0 if written else fruitless + 1
        if fruitless >= _FRUITLESS_BATCHES:
            raise RuntimeError("every newly drawn code was already taken")


async def fail_generation(uow: UnitOfWork, job_id: UUID, reason: str) -> None:
    """In the caller's transaction: end a code job that will not be tried again as failed,
    saying how many of its codes were written (they exist and are counted) and why (reason, a
    sentence)."""
    job = await uow.pools.get_job(job_id)
    if job is None or job.status is not JobStatus.RUNNING:
        return
    await uow.pools.finish_job(
        job_id,
        JobStatus.FAILED,
        f"Stopped with {job.created} of {job.requested} codes written. {reason} The codes "
        "written exist and are counted; start a new job for the rest.",
    )


async def get_job(uow: UnitOfWork, job_id: UUID) -> CodeJob:
    async with uow:
        job = await uow.pools.get_job(job_id)
    if job is None:
        raise JobNotFound(f"No job has id {job_id}.")
    return job


async def claim_code(
    uow: UnitOfWork, campaign_id: UUID, customer_id: str, now: datetime, *, actor: UUID | None
) -> tuple[Code, bool]:
    """The campaign's pool code for this customer, and whether this call assigned it: the
    first claim takes a free code (never one another claim holds), later claims get the same
    code back."""
    async with uow:
        await code_campaign(uow, campaign_id)
        held = await uow.pools.held_by(campaign_id, customer_id)
        if held is not None:
            return held, False
        try:
            code = await uow.pools.claim(campaign_id, customer_id, now)
        except DuplicateKeyError:
            # A concurrent claim for the same customer committed first; its code is the one.
            held = await uow.pools.held_by(campaign_id, customer_id)
            assert held is not None, "the unique index named a claim that is not there"
            return held, False
        if code is None:
            raise PoolExhausted(
                f"Campaign {campaign_id} has no unclaimed, unused and unexpired pool code left."
            )
        await uow.audit.record(
            AuditEntry(
                Action.CODE_CLAIMED,
                actor,
                campaign_id=campaign_id,
                customer_id=customer_id,
                subject_id=code.id,
                details={"code": code.code},
            )
        )
        await uow.commit()
    return code, True


# Problems listed in a refused import; the counts cover them all.
_PROBLEMS_SHOWN = 100


@dataclass(frozen=True, slots=True)
class ImportTerms:
    max_redemptions: int | None = 1
    per_customer_limit: int | None = None
    expires_at: datetime | None = None


def _rejected(problems: list[ImportProblem], total: int, detail: str) -> ImportRejected:
    return ImportRejected(
        detail,
        problem_count=total,
        problems=[
            {"line": p.line, "code": p.code, "reason": p.reason} for p in problems[:_PROBLEMS_SHOWN]
        ],
    )


async def import_codes(
    uow: UnitOfWork, campaign_id: UUID, csv_text: str, terms: ImportTerms, *, actor: UUID | None
) -> int:
    """Add a CSV file's codes to the campaign's pool, all or none: a malformed row, a code
    twice in the file or a code that already exists anywhere refuses the whole file, listing
    the problems by line."""
    read = read_code_csv(csv_text)
    if read.problems:
        raise _rejected(
            read.problems,
            len(read.problems),
            f"{len(read.problems)} row(s) of the file cannot be imported; nothing was written.",
        )
    async with uow:
        await code_campaign(uow, campaign_id)
        await uow.pools.stage(read.codes)
        total, taken = await uow.pools.taken_codes(_PROBLEMS_SHOWN)
        if total:
            raise _rejected(
                [
                    ImportProblem(read.lines[key], "The code already exists.", code)
                    for code, key in taken
                ],
                total,
                f"{total} code(s) of the file already exist; nothing was written.",
            )
        written = await uow.pools.insert_staged(
            campaign_id,
            PoolCodes(
                CodeSource.IMPORTED,
                terms.max_redemptions,
                terms.per_customer_limit,
                terms.expires_at,
            ),
        )
        if written != len(read.codes):
            # Another import or generation took some of these codes since the check.
            raise _rejected(
                [],
                len(read.codes) - written,
                "Some codes were created by another request meanwhile; nothing was written. "
                "Send the file again to see which.",
            )
        await uow.audit.record(
            AuditEntry(
                Action.CODES_IMPORTED, actor, campaign_id=campaign_id, details={"count": written}
            )
        )
        await uow.commit()
    return written


# Codes per read while exporting: each page is its own short query, so a slow reader of the
# stream holds no connection or transaction.
EXPORT_PAGE = 5_000


async def export_codes(
    new_uow: Callable[[], UnitOfWork], campaign_id: UUID
) -> AsyncIterator[list[CodeUse]]:
    """The campaign's codes page by page, oldest first. Raises CampaignNotFound before the first
    page, so that the caller can still answer with an error."""
    async with new_uow() as uow:
        if await uow.campaigns.get(campaign_id) is None:
            raise CampaignNotFound(f"No campaign has id {campaign_id}.")
        page = await uow.pools.export_page(campaign_id, limit=EXPORT_PAGE, after=None)

    async def pages(page: list[CodeUse]) -> AsyncIterator[list[CodeUse]]:
        while page:
            yield page
            if len(page) < EXPORT_PAGE:
                return
            last = page[-1]
            async with new_uow() as uow:
                page = await uow.pools.export_page(
                    campaign_id, limit=EXPORT_PAGE, after=(last.created_at, last.id)
                )

    return pages(page)
