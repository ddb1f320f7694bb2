"""Referral programs refuse terms their campaigns could never honour, as campaigns do."""

from httpx import AsyncClient


async def test_a_program_whose_reward_could_never_apply_is_an_invalid_campaign(
    client: AsyncClient, admin: dict[str, str]
) -> None:
    response = await client.post(
        "/v1/referral-programs",
        json={
            "name": "Never",
            "effects": [{"type": "amount_off", "amounts": {"EUR": 500}}],
            "conditions": {"min_subtotal_amounts": {"JPY": 3000}},
            "advocate_reward": {"amount": 300, "currency": "EUR"},
        },
        headers=admin,
    )
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "invalid_campaign"


async def test_an_automatic_campaign_cannot_be_the_advocate_reward(
    client: AsyncClient, admin: dict[str, str]
) -> None:
    automatic = await client.post(
        "/v1/campaigns",
        json={
            "name": "Everyone",
            "trigger": "automatic",
            "effects": [{"type": "percent_off", "basis_points": 1000}],
        },
        headers=admin,
    )
    assert automatic.status_code == 201, automatic.text
    response = await client.post(
        "/v1/referral-programs",
        json={
            "name": "Give 5, get a code",
            "effects": [{"type": "amount_off", "amounts": {"EUR": 500}}],
            "advocate_reward": {"campaign_id": automatic.json()["id"], "expires_in_days": 30},
        },
        headers=admin,
    )
    assert (response.status_code, response.json()["code"]) == (422, "invalid_campaign")


async def test_referrals_come_a_page_at_a_time(
    client: AsyncClient, admin: dict[str, str], checkout: dict[str, str]
) -> None:
    made = await client.post(
        "/v1/referral-programs",
        json={
            "name": "Give 5, get 3",
            "effects": [{"type": "amount_off", "amounts": {"EUR": 500}}],
            "advocate_reward": {"amount": 300, "currency": "EUR"},
        },
        headers=admin,
    )
    assert made.status_code == 201, made.text
    url = f"/v1/referral-programs/{made.json()['id']}/referrals"
    empty = await client.get(url, params={"limit": 1}, headers=admin)
    assert empty.json() == {"data": [], "next_cursor": None}
    refused = await client.get(url, params={"cursor": "not-a-cursor"}, headers=admin)
    assert (refused.status_code, refused.json()["code"]) == (422, "invalid_cursor")
