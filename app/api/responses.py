from typing import Any

from starlette.responses import Response

from app.rendering import render
from app.services.idempotency import Written


class OrjsonResponse(Response):
    """JSON rendered by app/rendering.py: the one renderer of results, for responses and stored
    replays alike."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        # Bytes are an answer rendered already: a write renders what it stores and sends.
        return content if isinstance(content, bytes) else render(content)


def written(answer: Written[Any], status_code: int = 201) -> OrjsonResponse:
    """An idempotent write's response: a retry's answer says so in Idempotent-Replayed."""
    headers = {"Idempotent-Replayed": "true"} if answer.replayed else None
    content = answer.answer if answer.rendered is None else answer.rendered
    return OrjsonResponse(content, status_code=status_code, headers=headers)
