"""Prometheus metrics: the metric objects and the small functions the rest of the code calls to
record something (`metrics.failed_guesses(2)`, `metrics.rollback_performed()`).

Every metric is named `tessera_*`. With PROMETHEUS_MULTIPROC_DIR set (as `python -m app.serve`
does before any worker starts), each worker writes its values to files in that folder and
`render()` merges every worker's files, so one scrape of `/metrics` shows the whole service;
without it (tests, a plain `uvicorn app.asgi:app`) the values live in this process only.

Labels only ever take values from small fixed sets (route templates, methods, statuses,
reason codes): never a raw path, code, customer or key. The children of labelled metrics are
looked up once per label set and kept, because `labels()` costs more than the increment.
"""

import glob
import os
from collections.abc import Iterable

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

# Decided once, like prometheus_client itself decides (at import) whether values go to files.
MULTIPROCESS = bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))

# Validate takes ~1 ms in-process; a redeem ~10 ms; anything past seconds is a timeout.
_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
_WAIT_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0, 30.0)
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# The reason label of a code that was accepted; refused codes carry their reason code.
APPLIED = "applied"

HTTP_REQUESTS = Counter(
    "tessera_http_requests",
    "HTTP requests answered, by method, route template and status.",
    ["method", "route", "status"],
)
HTTP_DURATION = Histogram(
    "tessera_http_request_duration_seconds",
    "Time from receiving a request to sending the end of its response, by method, route "
    "template and status.",
    ["method", "route", "status"],
    buckets=_LATENCY_BUCKETS,
)
CODE_VERDICTS = Counter(
    "tessera_code_verdicts",
    "Verdicts on requested codes, by endpoint (validate, redeem) and reason (`applied`, or the "
    "reason code of the refusal).",
    ["endpoint", "reason"],
)
REDEMPTIONS = Counter("tessera_redemptions", "Redemptions created (replays not counted).")
ROLLBACKS = Counter(
    "tessera_rollbacks", "Redemptions rolled back (repeated rollbacks not counted)."
)
FAILED_GUESSES = Counter(
    "tessera_failed_guesses",
    "Failed code guesses recorded: unknown codes and codes bound to another customer. "
    "addressed=false: the request sent no client_ip, so the guesses used the allowance its "
    "API key's requests without an address share.",
    ["addressed"],
)
GUESS_ALARMS = Counter(
    "tessera_failed_guess_alarms",
    "Times an API key passed TESSERA_GUESSES__KEY_ALARM failed guesses in one window "
    "(someone may be trying codes through the shop's checkout).",
)
POOL_IN_USE = Gauge(
    "tessera_db_pool_connections_in_use",
    "Database connections checked out of the pool, summed over the live workers.",
    multiprocess_mode="livesum",
)
POOL_WAIT = Histogram(
    "tessera_db_pool_wait_seconds",
    "Checkouts that found no idle connection in the pool, by how long they took to get one "
    "(waiting for another request to return one, or opening a new one).",
    buckets=_WAIT_BUCKETS,
)

_http_children: dict[tuple[str, str, int], tuple[Counter, Histogram]] = {}
_verdict_children: dict[tuple[str, str], Counter] = {}


def http_request(method: str, route: str, status: int, seconds: float) -> None:
    """Count one answered request and its duration. route is the matched route's template."""
    key = (method if method in _METHODS else "other", route, status)
    children = _http_children.get(key)
    if children is None:
        labels = (key[0], route, str(status))
        children = (HTTP_REQUESTS.labels(*labels), HTTP_DURATION.labels(*labels))
        _http_children[key] = children
    children[0].inc()
    children[1].observe(seconds)


def code_verdicts(endpoint: str, reasons: Iterable[str | None]) -> None:
    """Count the verdict on each requested code of a validate or redeem: its refusal's
    reason, or `applied` (None)."""
    for refusal in reasons:
        reason = APPLIED if refusal is None else str(refusal)
        child = _verdict_children.get((endpoint, reason))
        if child is None:
            child = _verdict_children[endpoint, reason] = CODE_VERDICTS.labels(endpoint, reason)
        child.inc()


def redemption_created() -> None:
    """A redeem consumed its codes and recorded a redemption."""
    REDEMPTIONS.inc()


def rollback_performed() -> None:
    """A redemption was rolled back (not: a rollback of one already rolled back)."""
    ROLLBACKS.inc()


def failed_guesses(count: int, *, addressed: bool) -> None:
    """count failed code guesses were recorded, of a request that sent its shopper's address
    (client_ip) or not."""
    if count:
        FAILED_GUESSES.labels("true" if addressed else "false").inc(count)


def guess_alarm() -> None:
    """A key passed its alarm threshold of failed guesses for the window (once per window)."""
    GUESS_ALARMS.inc()


def connection_checked_out() -> None:
    POOL_IN_USE.inc()


def connection_checked_in() -> None:
    POOL_IN_USE.dec()


def pool_waited(seconds: float) -> None:
    """A checkout found no idle connection and took seconds to get one."""
    POOL_WAIT.observe(seconds)


def render() -> tuple[bytes, str]:
    """The Prometheus text exposition of every metric (of every worker, in multiprocess mode)
    and its content type."""
    if not MULTIPROCESS:
        return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
    registry = CollectorRegistry(auto_describe=True)
    multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    return generate_latest(registry), CONTENT_TYPE_LATEST


def process_stopping() -> None:
    """Drop this process's live gauges (connections in use) from the merged values."""
    if MULTIPROCESS:
        multiprocess.mark_process_dead(os.getpid())  # type: ignore[no-untyped-call]


def forget_dead_processes() -> None:
    """Drop the live gauges of workers that died without process_stopping() (killed or
    crashed), so their connections stop counting as in use. A worker calls it at start-up:
    a restarted worker cleans up after the one it replaces."""
    if not MULTIPROCESS:
        return
    directory = os.environ["PROMETHEUS_MULTIPROC_DIR"]
    for path in glob.glob(os.path.join(directory, "gauge_live*_*.db")):
        pid_text = path.rsplit("_", 1)[1].removesuffix(".db")
        if not pid_text.isdigit():
            continue
        pid = int(pid_text)
        if pid != os.getpid() and not _alive(pid):
            multiprocess.mark_process_dead(pid, directory)  # type: ignore[no-untyped-call]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
