from datetime import datetime
from typing import Annotated
from uuid import UUID

from pydantic import BaseModel, Field

from app.api.schemas.common import FROM_JSON_STRING, Name, RequestModel
from app.api.schemas.examples import example
from app.domain.api_keys import Scope


class ApiKeyCreate(RequestModel):
    model_config = example("ApiKeyCreate")

    name: Name
    scopes: list[Annotated[Scope, FROM_JSON_STRING]] = Field(
        min_length=1, max_length=3, examples=[["checkout"]]
    )


class ApiKey(BaseModel):
    id: UUID
    name: str
    key_prefix: str = Field(description="The first characters of the key, to recognise it")
    scopes: list[Scope]
    created_at: datetime
    revoked_at: datetime | None


class ApiKeyCreated(ApiKey):
    key: str = Field(description="The secret key. Shown once; store it now.")


class ApiKeyList(BaseModel):
    data: list[ApiKey]
