"""`python -m app.db.session_defaults`: make the settings every session of the service relies on
behind PgBouncer (db/engine.py, session_settings) defaults of DATABASE_URL's role in its
database.

Connected directly, the service sends them as startup parameters. Behind PgBouncer in
transaction mode it cannot (PgBouncer refuses unknown startup parameters, and a SET would stay
on a server session that other clients get next), so they must come from the role:

    ALTER ROLE CURRENT_USER IN DATABASE <db> SET statement_timeout = '2000';
    ALTER ROLE CURRENT_USER IN DATABASE <db> SET plan_cache_mode = 'force_generic_plan';

which is what this runs, with the values the service's settings give. Sessions opened after it
have them; PgBouncer's older server sessions keep what they started with until they are
replaced (RECONNECT in its console, or server_lifetime), and /readyz says so until then.
Running it again changes nothing. They are every session of the role's: migrations lift the
timeout for themselves (migrations/env.py), a psql session of the role runs
`SET statement_timeout = 0` for long work.
"""

import asyncio
import re
import sys

import asyncpg

from app.db.engine import session_settings
from app.settings import get_settings

# What a value may look like: the settings are numbers or words, never quoted text.
_PLAIN = re.compile(r"[A-Za-z0-9_]+")


def statements(values: dict[str, str]) -> str:
    """One DO block setting every value for the current role in the current database."""
    lines = []
    for name, value in values.items():
        if not (_PLAIN.fullmatch(name) and _PLAIN.fullmatch(value)):
            raise ValueError(f"not a plain setting: {name}={value}")
        lines.append(
            "EXECUTE format('ALTER ROLE CURRENT_USER IN DATABASE %I SET "
            f"{name} = %L', current_database(), '{value}');"
        )
    return "DO $$ BEGIN " + " ".join(lines) + " END $$"


async def apply(url: str, values: dict[str, str]) -> None:
    dsn = url.replace("postgresql+asyncpg://", "postgresql://", 1)
    connection = await asyncpg.connect(dsn, statement_cache_size=0)
    try:
        await connection.execute(statements(values))
    finally:
        await connection.close()


def main() -> None:
    settings = get_settings()
    values = session_settings(settings.db)
    asyncio.run(apply(settings.database_url, values))
    shown = ", ".join(f"{name}={value}" for name, value in values.items())
    sys.stdout.write(f"role defaults set: {shown}\n")


if __name__ == "__main__":
    main()
