from uuid import UUID

from fastapi import APIRouter, status

from app.api.deps import AdminKey, UowDep
from app.api.problems import problem_responses
from app.api.schemas.api_keys import ApiKey, ApiKeyCreate, ApiKeyCreated, ApiKeyList
from app.domain.api_keys import ApiKey as ApiKeyValue
from app.services import api_keys as service

router = APIRouter(prefix="/v1/api-keys", tags=["api-keys"])


def _schema(record: ApiKeyValue) -> ApiKey:
    return ApiKey(
        id=record.id,
        name=record.name,
        key_prefix=record.key_prefix,
        scopes=list(record.scopes),
        created_at=record.created_at,
        revoked_at=record.revoked_at,
    )


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=ApiKeyCreated,
    summary="Create an API key (the secret is shown only in this response)",
    responses=problem_responses(400, 401, 403, 413, 422),
)
async def create_api_key(body: ApiKeyCreate, uow: UowDep, key: AdminKey) -> ApiKeyCreated:
    created = await service.create_api_key(uow, body.name, body.scopes, actor=key.id)
    return ApiKeyCreated(**_schema(created.record).model_dump(), key=created.secret)


@router.get(
    "",
    response_model=ApiKeyList,
    summary="List API keys (never their secrets)",
    responses=problem_responses(401, 403),
)
async def list_api_keys(uow: UowDep, _: AdminKey) -> ApiKeyList:
    return ApiKeyList(data=[_schema(r) for r in await service.list_api_keys(uow)])


@router.delete(
    "/{key_id}",
    response_model=ApiKey,
    summary="Revoke an API key; it stops working at once",
    responses=problem_responses(401, 403, 404, 422),
)
async def revoke_api_key(key_id: UUID, uow: UowDep, key: AdminKey) -> ApiKey:
    return _schema(await service.revoke_api_key(uow, key_id, actor=key.id))
