"""The contract as a document (/openapi.json) and as pages (/docs, Swagger UI), with Swagger
UI's scripts served from the fastapi-offline package: the pages work where the service runs
without internet access. Each is a route of its own, so logs and metrics name it."""

from importlib.resources import files
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_swagger_ui_html
from starlette.exceptions import HTTPException
from starlette.responses import FileResponse, HTMLResponse, JSONResponse

ASSETS_PATH = "/docs/assets"
_ASSETS = Path(str(files("fastapi_offline").joinpath("static")))
# Only what the page loads: nothing else in the package folder is served.
_ASSET_TYPES = {
    "swagger-ui-bundle.js": "text/javascript",
    "swagger-ui.css": "text/css",
    "favicon.png": "image/png",
}

router = APIRouter(include_in_schema=False)


@router.get("/openapi.json")
async def openapi_document(request: Request) -> JSONResponse:
    return JSONResponse(request.app.openapi())


@router.get("/docs")
async def swagger_ui() -> HTMLResponse:
    return get_swagger_ui_html(
        openapi_url="/openapi.json",
        title="Tessera API",
        swagger_js_url=f"{ASSETS_PATH}/swagger-ui-bundle.js",
        swagger_css_url=f"{ASSETS_PATH}/swagger-ui.css",
        swagger_favicon_url=f"{ASSETS_PATH}/favicon.png",
    )


@router.get(ASSETS_PATH + "/{name}")
async def docs_asset(name: str) -> FileResponse:
    media_type = _ASSET_TYPES.get(name)
    if media_type is None:
        raise HTTPException(404, "No such file.")
    return FileResponse(
        _ASSETS / name, media_type=media_type, headers={"Cache-Control": "max-age=86400"}
    )
