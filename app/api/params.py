"""Path parameters shared by the routers."""

from typing import Annotated

from fastapi import Path

from app.api.schemas.common import PATH_ID

CustomerPath = Annotated[str, Path(min_length=1, max_length=200, pattern=PATH_ID)]
OrderPath = Annotated[str, Path(min_length=1, max_length=200, pattern=PATH_ID)]
