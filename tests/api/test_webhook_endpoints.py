"""Registering webhook endpoints: what is accepted, and what is refused as a 4xx."""

from httpx import AsyncClient


async def test_a_url_that_grows_when_encoded_is_kept_whole(
    client: AsyncClient, admin: dict[str, str]
) -> None:
    """1,900 characters as sent, over 2,000 once percent-encoded: stored as normalised."""
    url = "https://hooks.example.com/" + "é" * 900
    made = await client.post("/v1/webhook-endpoints", json={"url": url}, headers=admin)
    assert made.status_code == 201, made.text
    assert made.json()["url"].startswith("https://hooks.example.com/%C3%A9")
    listed = await client.get("/v1/webhook-endpoints", headers=admin)
    assert [e["url"] for e in listed.json()["data"]] == [made.json()["url"]]


async def test_what_is_not_an_endpoint_is_refused(
    client: AsyncClient, admin: dict[str, str], checkout: dict[str, str]
) -> None:
    for body in (
        {"url": "ftp://example.com/hook"},
        {"url": "https://example.com/hook", "types": ["no.such.event"]},
        {"url": "https://example.com/" + "a" * 2000},
    ):
        refused = await client.post("/v1/webhook-endpoints", json=body, headers=admin)
        assert (refused.status_code, refused.json()["code"]) == (422, "validation_error")
    forbidden = await client.post(
        "/v1/webhook-endpoints", json={"url": "https://example.com/hook"}, headers=checkout
    )
    assert forbidden.status_code == 403
