"""Gift cards and cashback wallets: issue, top up, check, pay at /redeem up to the balance and
the total, rollback puts back exactly what was taken (and the order's points and cashback)."""

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from httpx import AsyncClient

from app.domain.benefits import AmountOff, Cashback
from tests.factories import Factory, cart

START = datetime(2026, 3, 2, 10, tzinfo=UTC)


@pytest.fixture
def clock(clock_from: Callable[[datetime], list[datetime]]) -> list[datetime]:
    return clock_from(START)


def keyed(headers: dict[str, str], key: str | None = None) -> dict[str, str]:
    return {**headers, "Idempotency-Key": key or str(uuid.uuid4())}


async def gift_card(
    client: AsyncClient, admin: dict[str, str], amount: int = 5000, **extra: Any
) -> Any:
    response = await client.post(
        "/v1/gift-cards", json={"currency": "EUR", "amount": amount} | extra, headers=keyed(admin)
    )
    assert response.status_code == 201, response.text
    return response.json()


async def redeem(
    client: AsyncClient, checkout: dict[str, str], *lines: tuple[str, int, int], **extra: Any
) -> Any:
    body = {"cart": cart(*lines)} | extra
    return await client.post("/v1/redeem", json=body, headers=keyed(checkout))


async def look_up(client: AsyncClient, headers: dict[str, str], code: str, **extra: Any) -> Any:
    return await client.post("/v1/gift-cards/lookup", json={"code": code} | extra, headers=headers)


async def available(client: AsyncClient, headers: dict[str, str], code: str, **extra: Any) -> int:
    response = await look_up(client, headers, code, **extra)
    assert response.status_code == 200, response.text
    amount: int = response.json()["available_amount"]
    return amount


class TestGiftCardLookups:
    async def test_lookups_are_guesses_and_stop_answering_once_blocked(
        self, client: AsyncClient, admin: dict[str, str], checkout: dict[str, str]
    ) -> None:
        card = await gift_card(client, admin, 2500)
        for n in range(10):
            guess = await look_up(client, checkout, f"GUESS{n:012d}", customer_id="mallory")
            assert (guess.status_code, guess.json()["code"]) == (404, "balance_code_not_found")
        # The customer's allowance is used up: the real code answers like any other.
        for code in (card["code"], "GUESS-AGAIN"):
            blocked = await look_up(client, checkout, code, customer_id="mallory")
            assert blocked.status_code == 429
            assert blocked.json()["code"] == "too_many_failed_guesses"
            assert blocked.headers["Retry-After"]
        assert await available(client, checkout, card["code"]) == 2500

    async def test_the_address_allowance_holds_across_customers(
        self, client: AsyncClient, admin: dict[str, str], checkout: dict[str, str]
    ) -> None:
        card = await gift_card(client, admin, 2500)
        for n in range(50):
            await look_up(client, checkout, f"G{n:015d}", customer_id=f"c{n}", client_ip="::1")
        blocked = await look_up(client, checkout, card["code"], customer_id="c99", client_ip="::1")
        assert blocked.status_code == 429
        elsewhere = await look_up(client, checkout, card["code"], client_ip="203.0.113.7")
        assert elsewhere.status_code == 200

    async def test_a_card_bound_to_someone_else_is_not_found(
        self, client: AsyncClient, admin: dict[str, str], checkout: dict[str, str]
    ) -> None:
        card = await gift_card(client, admin, 2500, customer_id="ann")
        for someone in ({"customer_id": "bob"}, {}):
            other = await look_up(client, checkout, card["code"], **someone)
            assert (other.status_code, other.json()["code"]) == (404, "balance_code_not_found")
            assert "ann" not in other.text
        assert (await look_up(client, checkout, card["code"], customer_id="ann")).status_code == 200


class TestGiftCards:
    async def test_issue_check_and_top_up(
        self, client: AsyncClient, admin: dict[str, str], checkout: dict[str, str]
    ) -> None:
        card = await gift_card(client, admin, 2500)
        assert (card["kind"], card["available_amount"], len(card["code"])) == (
            "gift_card",
            2500,
            16,
        )
        assert await available(client, checkout, card["code"].lower()) == 2500

        key = str(uuid.uuid4())
        by_id = await client.get(f"/v1/gift-cards/{card['id']}", headers=checkout)
        assert by_id.json() == card
        url = f"/v1/gift-cards/{card['id']}/top-ups"
        first = await client.post(
            url, json={"amount": 1000, "currency": "EUR"}, headers=keyed(admin, key)
        )
        retry = await client.post(
            url, json={"amount": 1000, "currency": "EUR"}, headers=keyed(admin, key)
        )
        assert first.json()["available_amount"] == retry.json()["available_amount"] == 3500
        assert retry.headers["Idempotent-Replayed"] == "true"
        wrong = await client.post(url, json={"amount": 1, "currency": "USD"}, headers=keyed(admin))
        assert (wrong.status_code, wrong.json()["code"]) == (422, "currency_mismatch")

    async def test_own_codes_are_unique_and_unknown_ones_404(
        self, client: AsyncClient, admin: dict[str, str], checkout: dict[str, str]
    ) -> None:
        await gift_card(client, admin, code="XMAS-2026-0001")
        again = await client.post(
            "/v1/gift-cards",
            json={"currency": "EUR", "amount": 100, "code": "xmas-2026-0001"},
            headers=keyed(admin),
        )
        assert (again.status_code, again.json()["code"]) == (409, "code_already_exists")
        malformed = await client.post(
            "/v1/gift-cards",
            json={"currency": "EUR", "amount": 100, "code": "-no good-"},
            headers=keyed(admin),
        )
        assert (malformed.status_code, malformed.json()["code"]) == (422, "invalid_gift_card")
        missing = await look_up(client, checkout, "NOPE")
        assert (missing.status_code, missing.json()["code"]) == (404, "balance_code_not_found")
        no_id = await client.get(f"/v1/gift-cards/{uuid.uuid4()}", headers=checkout)
        assert (no_id.status_code, no_id.json()["code"]) == (404, "balance_code_not_found")

    async def test_pays_up_to_its_balance_and_the_total_after_discounts(
        self,
        client: AsyncClient,
        admin: dict[str, str],
        checkout: dict[str, str],
        factory: Factory,
    ) -> None:
        await factory.code(await factory.campaign(AmountOff({"EUR": 1000})), "TENOFF")
        card = await gift_card(client, admin, 5000)
        first = await redeem(
            client, checkout, ("a", 1, 4000), codes=["TENOFF"], balance_codes=[card["code"]]
        )
        assert first.status_code == 201, first.text
        assert (first.json()["total_amount"], first.json()["paid_amount"]) == (3000, 3000)
        assert first.json()["amount_due"] == 0
        assert first.json()["payments"] == [
            {"code": card["code"], "kind": "gift_card", "amount": 3000, "remaining_amount": 2000}
        ]
        second = await redeem(client, checkout, ("a", 1, 4000), balance_codes=[card["code"]])
        assert (second.json()["paid_amount"], second.json()["amount_due"]) == (2000, 2000)
        empty = await redeem(client, checkout, ("a", 1, 4000), balance_codes=[card["code"]])
        assert (empty.status_code, empty.json()["code"]) == (409, "redemption_refused")
        assert empty.json()["balance_codes"][0]["reason"] == "no_balance"

    async def test_refusals_say_why_and_take_nothing(
        self,
        client: AsyncClient,
        admin: dict[str, str],
        checkout: dict[str, str],
        factory: Factory,
        clock: list[datetime],
    ) -> None:
        bound = await gift_card(client, admin, 1000, customer_id="ann")
        dollars = (
            await client.post(
                "/v1/gift-cards", json={"currency": "USD", "amount": 100}, headers=keyed(admin)
            )
        ).json()
        expiring = await gift_card(
            client, admin, 1000, expires_at=(START + timedelta(days=1)).isoformat()
        )
        cases = [
            ([bound["code"]], {"customer": {"id": "bob"}}, "customer_mismatch"),
            ([dollars["code"]], {}, "currency_mismatch"),
            (["NO-SUCH-CARD"], {}, "not_found"),
            ([bound["code"], bound["code"]], {"customer": {"id": "ann"}}, "duplicate_code"),
        ]
        for codes, extra, reason in cases:
            response = await redeem(client, checkout, ("a", 1, 500), balance_codes=codes, **extra)
            assert response.status_code == 409, response.text
            assert [c["reason"] for c in response.json()["balance_codes"] if not c["valid"]] == [
                reason
            ]
        # All or nothing: a refused balance code leaves the promotion code's only use alone.
        await factory.code(
            await factory.campaign(AmountOff({"EUR": 100})), "ONCE", max_redemptions=1
        )
        refused = await redeem(
            client, checkout, ("a", 1, 500), codes=["ONCE"], balance_codes=["NO-SUCH-CARD"]
        )
        assert refused.status_code == 409
        assert refused.json()["codes"][0]["valid"] is True
        alone = await redeem(client, checkout, ("a", 1, 500), codes=["ONCE"])
        assert alone.status_code == 201, alone.text
        clock[0] = START + timedelta(days=2)
        late = await redeem(client, checkout, ("a", 1, 500), balance_codes=[expiring["code"]])
        assert late.json()["balance_codes"][0]["reason"] == "expired"
        assert await available(client, checkout, bound["code"], customer_id="ann") == 1000


class TestRollback:
    async def test_restores_the_gift_balance_and_the_orders_points_exactly(
        self,
        client: AsyncClient,
        admin: dict[str, str],
        checkout: dict[str, str],
        factory: Factory,
    ) -> None:
        program = await client.post(
            "/v1/loyalty/programs",
            json={"name": "Club", "currency": "EUR", "earn_rate": {"points": 2, "per_amount": 100}},
            headers=admin,
        )
        program_id = program.json()["id"]
        card = await gift_card(client, admin, 1234)
        redeemed = await redeem(
            client,
            checkout,
            ("a", 2, 1500),
            balance_codes=[card["code"]],
            order_id="o-77",
            customer={"id": "ann"},
        )
        assert redeemed.json()["paid_amount"] == 1234
        earned = await client.post(
            f"/v1/loyalty/programs/{program_id}/earnings",
            json={"customer_id": "ann", "order_id": "o-77", "amount": 3000, "currency": "EUR"},
            headers=checkout,
        )
        assert earned.json()["points"] == 60

        url = f"/v1/redemptions/{redeemed.json()['id']}/rollback"
        assert (await client.post(url, headers=checkout)).status_code == 200
        assert (await client.post(url, headers=checkout)).status_code == 200
        assert await available(client, checkout, card["code"]) == 1234
        entries = await client.get(f"/v1/gift-cards/{card['id']}/entries", headers=checkout)
        assert entries.json()["data"][0]["api_key_id"] is not None  # who rolled it back
        assert [(e["kind"], e["amount"]) for e in entries.json()["data"]] == [
            ("refund", 1234),
            ("payment", -1234),
            ("issue", 1234),
        ]
        member = await client.get(
            f"/v1/loyalty/programs/{program_id}/members/ann", headers=checkout
        )
        assert (member.json()["available_points"], member.json()["lifetime_points"]) == (0, 0)
        history = await client.get(
            f"/v1/loyalty/programs/{program_id}/members/ann/entries", headers=checkout
        )
        assert [(e["kind"], e["amount"]) for e in history.json()["data"]] == [
            ("reverse", -60),
            ("earn", 60),
        ]


class TestCashback:
    async def test_is_pending_in_the_wallet_then_pays_and_a_rollback_takes_it_back(
        self,
        client: AsyncClient,
        checkout: dict[str, str],
        factory: Factory,
        clock: list[datetime],
    ) -> None:
        await factory.code(await factory.campaign(Cashback(1500)), "BACK15")
        first = await redeem(
            client, checkout, ("a", 1, 4000), codes=["BACK15"], customer={"id": "ann"}
        )
        credit = first.json()["cashback_credit"]
        assert credit["amount"] == 600
        assert credit["available_at"].startswith("2026-03-16")
        wallets = await client.get("/v1/customers/ann/wallets", headers=checkout)
        [wallet] = wallets.json()["data"]
        assert (wallet["pending_amount"], wallet["available_amount"]) == (600, 0)
        assert wallet["code"] == credit["wallet_code"]

        too_soon = await redeem(
            client, checkout, ("b", 1, 1000), balance_codes=[wallet["code"]], customer={"id": "ann"}
        )
        assert too_soon.json()["balance_codes"][0]["reason"] == "no_balance"
        clock[0] = START + timedelta(days=14)
        someone_else = await redeem(
            client, checkout, ("b", 1, 1000), balance_codes=[wallet["code"]], customer={"id": "bob"}
        )
        assert someone_else.json()["balance_codes"][0]["reason"] == "customer_mismatch"
        paid = await redeem(
            client, checkout, ("b", 1, 1000), balance_codes=[wallet["code"]], customer={"id": "ann"}
        )
        assert (paid.json()["paid_amount"], paid.json()["amount_due"]) == (600, 400)

        # A second cashback order, rolled back inside its window: the wallet gets nothing.
        second = await redeem(
            client, checkout, ("a", 1, 2000), codes=["BACK15"], customer={"id": "ann"}
        )
        assert second.json()["cashback_credit"]["amount"] == 300
        await client.post(f"/v1/redemptions/{second.json()['id']}/rollback", headers=checkout)
        after = (await client.get("/v1/customers/ann/wallets", headers=checkout)).json()["data"]
        assert (after[0]["available_amount"], after[0]["pending_amount"]) == (0, 0)
