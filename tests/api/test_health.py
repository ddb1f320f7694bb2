"""Liveness and readiness."""

from httpx import AsyncClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from app.db.engine import session_settings
from app.main import migration_revisions
from app.settings import Settings


async def _set_revision(connection: AsyncConnection, revision: str) -> None:
    await connection.execute(
        text("UPDATE alembic_version SET version_num = :revision"), {"revision": revision}
    )


class TestReadiness:
    async def test_ready_at_the_head(self, client: AsyncClient) -> None:
        head, _ = migration_revisions()
        response = await client.get("/readyz")
        assert response.status_code == 200, response.text
        assert response.json() == {"status": "ok", "migration": head, "schema_is_newer": False}

    async def test_still_ready_when_a_newer_build_migrated_first(
        self, client: AsyncClient, connection: AsyncConnection
    ) -> None:
        await _set_revision(connection, "f0e1d2c3b4a5")
        response = await client.get("/readyz")
        assert response.status_code == 200, response.text
        assert response.json() == {
            "status": "ok",
            "migration": "f0e1d2c3b4a5",
            "schema_is_newer": True,
        }

    async def test_not_ready_behind_the_head(
        self, client: AsyncClient, connection: AsyncConnection
    ) -> None:
        head, known = migration_revisions()
        older = sorted(known - {head})[0]
        await _set_revision(connection, older)
        response = await client.get("/readyz")
        assert response.status_code == 503
        assert response.json()["code"] == "service_unavailable"
        assert "run the migrations" in response.json()["detail"]
        assert response.headers["Retry-After"] == "1"

    async def test_not_ready_in_a_session_without_the_settings_it_relies_on(
        self, client: AsyncClient, connection: AsyncConnection, settings: Settings
    ) -> None:
        # What a session behind PgBouncer has when the role's defaults were never set: no
        # statement timeout, and plans chosen per call.
        wanted = session_settings(settings.db)
        wrong = {"statement_timeout": "0", "plan_cache_mode": "auto"}
        for name in wanted:
            await connection.execute(text(f"SET LOCAL {name} = {wrong[name]}"))
        response = await client.get("/readyz")
        assert response.status_code == 503, response.text
        detail = response.json()["detail"]
        found = ", ".join(f"{name}={wrong[name]}" for name in wanted)
        expected = ", ".join(f"{name}={value}" for name, value in wanted.items())
        assert f"runs with {found}, not {expected};" in detail
        assert "python -m app.db.session_defaults" in detail

        for name, value in wanted.items():
            await connection.execute(text(f"SET LOCAL {name} = '{value}'"))
        assert (await client.get("/readyz")).status_code == 200

    async def test_liveness_needs_no_database(self, client: AsyncClient) -> None:
        assert (await client.get("/healthz")).json() == {"status": "ok"}
