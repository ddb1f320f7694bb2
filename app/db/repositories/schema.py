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
