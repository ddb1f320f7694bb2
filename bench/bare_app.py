"""The ceiling for the HTTP path: the same FastAPI/uvicorn set-up, the same asyncpg pool and the
same read path as the service's validate (an autocommit connection, the statement sent straight
to the driver), answering a POST with one row fetched by primary key. Not part of the API.

    uvicorn bench.bare_app:app   (DATABASE_URL and TESSERA_BENCH_CODE_ID set by the harness)
"""

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from uuid import UUID

from fastapi import FastAPI, Request

from app.api.responses import OrjsonResponse
from app.db.engine import Database, create_engine
from app.settings import get_settings


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    engine = create_engine(get_settings())
    app.state.database = Database.on(engine)
    app.state.code_id = UUID(os.environ["TESSERA_BENCH_CODE_ID"])
    yield
    await engine.dispose()


app = FastAPI(lifespan=lifespan)
_LOOKUP = "SELECT id, code, max_redemptions FROM codes WHERE id = $1"


@app.post("/bare")
async def bare(request: Request) -> OrjsonResponse:
    async with request.app.state.database.connect_for_read() as conn:
        raw = await conn.get_raw_connection()
        row = await raw.driver_connection.fetchrow(_LOOKUP, request.app.state.code_id)
    body = {"id": str(row["id"]), "code": row["code"], "limit": row["max_redemptions"]}
    return OrjsonResponse(body)
