from datetime import timedelta

from fastapi import APIRouter

from app.api.deps import AdminKey, NowDep, SettingsDep, UowDep
from app.api.problems import problem_responses
from app.api.schemas.purges import PurgeRun
from app.services import purges as service

router = APIRouter(tags=["operations"])


@router.post(
    "/v1/purge-runs",
    response_model=PurgeRun,
    summary="Delete expired idempotency keys, ended guess windows, old verdicts and jobs now",
    description=(
        "Idempotency keys are forgotten 24 h after their first request, failed-guess counts "
        "once their window has ended, customers' logged verdicts and events (with their "
        "webhook deliveries) after 30 days, finished jobs after 7; this "
        "deletes them, in batches of 5,000 rows per "
        "transaction, so the tables stay the size of one day's traffic. The worker runs it "
        "hourly; this runs it now. Safe to run twice or at once: runs skip the rows another "
        "holds."
    ),
    responses=problem_responses(401, 403, 422, 503),
)
async def run_purge(uow: UowDep, _: AdminKey, now: NowDep, settings: SettingsDep) -> PurgeRun:
    window = timedelta(seconds=settings.guesses.window_seconds)
    run = await service.purge(uow, now, window)
    return PurgeRun(
        idempotency_keys=run.idempotency_keys,
        guess_windows=run.guess_windows,
        verdicts=run.verdicts,
        events=run.events,
        jobs=run.jobs,
    )
