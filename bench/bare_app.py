"""The ceiling for the HTTP path: the same FastAPI/uvicorn set-up and the same asyncpg pool as
the service, answering a POST with one row fetched by primary key. Not part of the API.

    uvicorn bench.bare_app:app   (DATABASE_URL and TESSERA_BENCH_CODE_ID set by the harness)
"""

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from uuid import UUID

from fastapi import FastAPI, Request
from sqlalchemy import text

from app.api.responses import OrjsonResponse
from app.db.engine import create_engine
from app.settings import get_settings


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    engine = create_engine(get_settings())
    app.state.engine = engine
    app.state.code_id = UUID(os.environ["TESSERA_BENCH_CODE_ID"])
    yield
    await engine.dispose()


app = FastAPI(lifespan=lifespan)
_LOOKUP = text("SELECT id, code, redemption_count FROM codes WHERE id = :id")


@app.post("/bare")
async def bare(request: Request) -> OrjsonResponse:
    async with request.app.state.engine.connect() as conn:
        row = (await conn.execute(_LOOKUP, {"id": request.app.state.code_id})).one()
    return OrjsonResponse({"id": str(row.id), "code": row.code, "count": row.redemption_count})
