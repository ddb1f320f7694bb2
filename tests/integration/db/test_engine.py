"""What requests carry stays out of error messages that reach the logs: SQLAlchemy's
parameters are hidden, and a logged database error names its class and SQLSTATE only."""

import logging
import sys

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from app.db.engine import create_engine
from app.logs import ConsoleFormatter, JsonFormatter
from app.settings import Settings

SECRET = "GIFT-SECRET-7Q2M"


@pytest.mark.parametrize(
    "statement",
    [
        # asyncpg refuses the argument itself, quoting it.
        "SELECT CAST(:secret AS integer)",
        # PostgreSQL refuses the value, quoting it.
        "SELECT CAST(CAST(:secret AS text) AS integer)",
    ],
)
async def test_a_logged_database_error_does_not_quote_the_request(
    database_url: str, statement: str
) -> None:
    engine = create_engine(Settings(database_url=database_url))
    try:
        async with engine.connect() as conn:
            with pytest.raises(DBAPIError) as failed:
                await conn.execute(text(statement), {"secret": SECRET})
    finally:
        await engine.dispose()
    assert "[parameters:" not in str(failed.value)
    try:
        raise RuntimeError("the request failed") from failed.value
    except RuntimeError:
        record = logging.getLogger("tessera.test").makeRecord(
            "tessera.test", logging.ERROR, __file__, 1, "unhandled error", (), sys.exc_info()
        )
    for formatter in (JsonFormatter(), ConsoleFormatter()):
        printed = formatter.format(record)
        assert SECRET not in printed
        assert "message withheld" in printed
        assert "RuntimeError: the request failed" in printed
        assert "test_engine.py" in printed  # the frames are still there
