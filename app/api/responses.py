from typing import Any

from starlette.responses import Response

from app.rendering import render


class OrjsonResponse(Response):
    """JSON rendered by app/rendering.py: the one renderer of results, for responses and stored
    replays alike."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return render(content)
