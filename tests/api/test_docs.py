"""The API's pages work without internet access: nothing they load comes from elsewhere."""

import re

from httpx import AsyncClient

from scripts.export_openapi import openapi_document


class TestDocs:
    async def test_swagger_ui_loads_only_what_the_service_serves(self, client: AsyncClient) -> None:
        page = await client.get("/docs")
        assert page.status_code == 200
        assert not re.findall(r"https?://", page.text)
        assets = re.findall(r'(?:src|href)="([^"]+)"', page.text)
        assert len(assets) == 3
        for asset in assets:
            assert asset.startswith("/docs/assets/")
            loaded = await client.get(asset)
            assert loaded.status_code == 200, asset
            assert not re.findall(r"https?://cdn", loaded.text[:1000])

    async def test_only_the_pages_assets_are_served(self, client: AsyncClient) -> None:
        for name in ("redoc.standalone.js", "..%2F__init__.py", "consts.py"):
            response = await client.get(f"/docs/assets/{name}")
            assert response.status_code == 404, name
            assert response.headers["content-type"] == "application/problem+json"

    async def test_the_document_is_the_contract(self, client: AsyncClient) -> None:
        response = await client.get("/openapi.json")
        assert response.json() == openapi_document()
