"""`GET /metrics`: Prometheus's text format, for the scraper; no API key, not in the contract."""

from fastapi import APIRouter
from starlette.responses import Response

from app import metrics

router = APIRouter(include_in_schema=False)


@router.get("/metrics")
def prometheus_metrics() -> Response:
    # A plain def: in multiprocess mode rendering reads every worker's files, so it runs in
    # the thread pool rather than on the event loop.
    body, content_type = metrics.render()
    return Response(body, media_type=content_type)
