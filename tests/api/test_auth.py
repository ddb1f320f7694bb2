from httpx import AsyncClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from app.db.engine import SessionFactory
from app.db.uow import UnitOfWork
from app.domain.api_keys import Scope
from app.services.api_keys import ensure_bootstrap_admin_key
from tests.factories import Factory, bearer


class TestAuthentication:
    async def test_missing_key_is_401_problem(self, client: AsyncClient) -> None:
        response = await client.get("/v1/campaigns")
        assert response.status_code == 401
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["code"] == "unauthorized"
        assert response.headers["www-authenticate"] == 'Bearer realm="tessera"'

    async def test_unknown_key_is_401(self, client: AsyncClient) -> None:
        response = await client.get("/v1/campaigns", headers=bearer("tsk_not_a_key"))
        assert response.status_code == 401
        assert response.json()["code"] == "unauthorized"
        assert response.headers["www-authenticate"] == 'Bearer realm="tessera"'
        body = {
            "cart": {
                "currency": "EUR",
                "lines": [{"sku": "a", "quantity": 1, "unit_price_amount": 1}],
            }
        }
        validate = await client.post("/v1/validate", json=body, headers=bearer("tsk_not_a_key"))
        assert validate.status_code == 401
        assert validate.headers["www-authenticate"] == 'Bearer realm="tessera"'

    async def test_wrong_scope_is_403(self, client: AsyncClient, factory: Factory) -> None:
        key = await factory.api_key(Scope.CHECKOUT)
        response = await client.get("/v1/campaigns", headers=bearer(key))
        assert response.status_code == 403
        assert response.json()["code"] == "forbidden"

    async def test_admin_holds_every_scope(self, client: AsyncClient, factory: Factory) -> None:
        key = await factory.api_key(Scope.ADMIN)
        body = {
            "codes": ["X"],
            "cart": {
                "currency": "EUR",
                "lines": [{"sku": "a", "quantity": 1, "unit_price_amount": 1}],
            },
        }
        assert (
            await client.post("/v1/validate", json=body, headers=bearer(key))
        ).status_code == 200


class TestApiKeys:
    async def test_secret_is_shown_once_and_stored_hashed(
        self, client: AsyncClient, factory: Factory, connection: AsyncConnection
    ) -> None:
        admin = bearer(await factory.api_key(Scope.ADMIN))
        created = await client.post(
            "/v1/api-keys", json={"name": "till 4", "scopes": ["checkout"]}, headers=admin
        )
        assert created.status_code == 201
        secret = created.json()["key"]
        assert secret.startswith("tsk_")
        assert len(secret) > 40

        listed = (await client.get("/v1/api-keys", headers=admin)).json()["data"]
        assert all("key" not in key for key in listed)
        assert created.json()["id"] in {key["id"] for key in listed}

        stored = await connection.execute(text("SELECT key_hash, key_prefix FROM api_keys"))
        for key_hash, prefix in stored:
            assert secret.encode() not in bytes(key_hash)
            assert len(prefix) < len(secret)

        ok = await client.post(
            "/v1/validate",
            json={
                "codes": ["X"],
                "cart": {
                    "currency": "EUR",
                    "lines": [{"sku": "a", "quantity": 1, "unit_price_amount": 1}],
                },
            },
            headers=bearer(secret),
        )
        assert ok.status_code == 200

    async def test_revoked_key_stops_working_at_once(
        self, client: AsyncClient, factory: Factory
    ) -> None:
        admin = bearer(await factory.api_key(Scope.ADMIN))
        created = (
            await client.post(
                "/v1/api-keys", json={"name": "old", "scopes": ["admin"]}, headers=admin
            )
        ).json()
        revoked = await client.delete(f"/v1/api-keys/{created['id']}", headers=admin)
        assert revoked.status_code == 200
        assert revoked.json()["revoked_at"] is not None
        response = await client.get("/v1/campaigns", headers=bearer(created["key"]))
        assert response.status_code == 401

    async def test_unknown_scope_is_422(self, client: AsyncClient, factory: Factory) -> None:
        admin = bearer(await factory.api_key(Scope.ADMIN))
        response = await client.post(
            "/v1/api-keys", json={"name": "x", "scopes": ["root"]}, headers=admin
        )
        assert response.status_code == 422
        assert response.json()["errors"][0]["loc"] == ["body", "scopes", 0]

    async def test_revoking_an_unknown_key_is_404(
        self, client: AsyncClient, factory: Factory
    ) -> None:
        admin = bearer(await factory.api_key(Scope.ADMIN))
        response = await client.delete(
            "/v1/api-keys/00000000-0000-0000-0000-000000000000", headers=admin
        )
        assert response.status_code == 404
        assert response.json()["code"] == "api_key_not_found"


class TestBootstrapKey:
    async def test_installs_once_and_only_without_an_admin(
        self, sessionmaker: SessionFactory, client: AsyncClient
    ) -> None:
        assert await ensure_bootstrap_admin_key(UnitOfWork(sessionmaker), "tsk_boot_1") is True
        assert await ensure_bootstrap_admin_key(UnitOfWork(sessionmaker), "tsk_boot_2") is False
        assert (await client.get("/v1/campaigns", headers=bearer("tsk_boot_1"))).status_code == 200
        assert (await client.get("/v1/campaigns", headers=bearer("tsk_boot_2"))).status_code == 401
