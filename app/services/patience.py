"""Writing again while the rows a guarded write needs are held by other writes."""

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from app.db.errors import CodeBusyError
from app.db.repositories.checkout_writes import CODE_BUSY, WriteRefused

T = TypeVar("T")

# How a write waits while every counter row with room is held by other writes.
_FIRST_PAUSE_SECONDS = 0.002
_MAX_PAUSE_SECONDS = 0.05
_MAX_BUSY_SECONDS = 5.0


async def patiently(write: Callable[[], Awaitable[T]]) -> T:
    """write, again after a short jittered pause while every counter row it needs is held by
    other writes (they never queue on a row lock: SKIP LOCKED) or was changed under it, for up
    to _MAX_BUSY_SECONDS; then CodeBusyError (503), never a false limit_reached."""
    pause = _FIRST_PAUSE_SECONDS
    deadline = time.monotonic() + _MAX_BUSY_SECONDS
    while True:
        try:
            return await write()
        except WriteRefused as refused:
            if refused.reason != CODE_BUSY:
                raise
        if time.monotonic() > deadline:
            raise CodeBusyError("every counter row with room stayed held")
        # Jitter, so that the writes that found every row held do not return together.
        await asyncio.sleep(random.uniform(0, pause))
        pause = min(pause * 2, _MAX_PAUSE_SECONDS)
