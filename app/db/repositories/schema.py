from collections.abc import Collection

from sqlalchemy import text

from app.db.repositories.base import Repository


class SchemaRepository(Repository):
    async def current_revision(self) -> str | None:
        """The Alembic revision the database is at; None before the first migration."""
        exists = (
            await self.session.execute(text("SELECT to_regclass('alembic_version') IS NOT NULL"))
        ).scalar_one()
        if not exists:
            return None
        revision: str | None = (
            await self.session.execute(text("SELECT version_num FROM alembic_version"))
        ).scalar_one_or_none()
        return revision

    async def settings(self, names: Collection[str]) -> dict[str, str]:
        """The session's values of the named settings, in their base units (ms for times)."""
        rows = (
            await self.session.execute(
                text("SELECT name, setting FROM pg_settings WHERE name = ANY(:names)"),
                {"names": list(names)},
            )
        ).all()
        return {row.name: row.setting for row in rows}
