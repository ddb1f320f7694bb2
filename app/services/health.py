"""Readiness: the database answers, within a deadline, at a schema this build can serve, in a
session with the settings the service relies on."""

import asyncio
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass

from app.db.errors import DATABASE_ERRORS
from app.db.uow import UnitOfWork
from app.services.errors import ServiceUnavailable


@dataclass(frozen=True, slots=True)
class Readiness:
    revision: str
    is_newer: bool
    """The database was migrated past this build (a rolling deploy upgrades it first)."""


class ReadinessProbe:
    """Answers within timeout whatever the database does. One check runs at a time: probes
    that arrive while it runs wait for the same answer, so a stalled database does not collect
    a connection per probe; a check that outlives its deadline finishes in the background and
    the next probe starts afresh."""

    def __init__(
        self,
        head: str,
        known_revisions: Collection[str],
        timeout: float,
        session_settings: Mapping[str, str],
    ) -> None:
        self._head = head
        self._known = frozenset(known_revisions)
        self._timeout = timeout
        self._expected = dict(session_settings)
        self._running: asyncio.Task[_Found] | None = None

    async def check(self, new_uow: Callable[[], UnitOfWork]) -> Readiness:
        if self._running is None or self._running.done():
            self._running = asyncio.ensure_future(_look(new_uow(), self._expected))
            # Nobody may be waiting any more when it fails: take its error here.
            self._running.add_done_callback(_retrieve)
        try:
            async with asyncio.timeout(self._timeout):
                revision, settings = await asyncio.shield(self._running)
        except TimeoutError:
            raise ServiceUnavailable(
                f"The database did not answer within {self._timeout:g} s."
            ) from None
        except DATABASE_ERRORS as exc:
            raise ServiceUnavailable(
                f"The database cannot be reached ({exc.__class__.__name__})."
            ) from None
        wrong = {
            name: settings.get(name, "missing")
            for name, value in self._expected.items()
            if settings.get(name) != value
        }
        if wrong:
            # Behind PgBouncer the settings come from role defaults (app/db/session_defaults.py);
            # without them a stuck statement would hold its connection for ever.
            found = ", ".join(f"{name}={value}" for name, value in wrong.items())
            wanted = ", ".join(f"{name}={self._expected[name]}" for name in wrong)
            raise ServiceUnavailable(
                f"The database session runs with {found}, not {wanted}; set them as the "
                "role's defaults (python -m app.db.session_defaults)."
            )
        if revision == self._head:
            return Readiness(revision, is_newer=False)
        if revision is not None and revision not in self._known:
            return Readiness(revision, is_newer=True)
        raise ServiceUnavailable(
            f"The database schema is at {revision or 'no revision'}, not {self._head}; "
            "run the migrations.",
        )


_Found = tuple[str | None, dict[str, str]]


async def _look(uow: UnitOfWork, expected: Mapping[str, str]) -> _Found:
    """The schema's revision and the session's values of the expected settings."""
    async with uow:
        return await uow.schema.current_revision(), await uow.schema.settings(expected)


def _retrieve(task: "asyncio.Task[_Found]") -> None:
    if not task.cancelled():
        task.exception()
