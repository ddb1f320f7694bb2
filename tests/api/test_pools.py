"""Code pools through the API: generation jobs, refused specs, claims."""

import csv
import io
import re
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from httpx import AsyncClient
from sqlalchemy import text

from app.domain.api_keys import Scope
from app.domain.campaigns import Trigger
from app.domain.codegen import DEFAULT_CHARSET
from app.domain.pools import JobStatus
from app.services import pools
from app.services.pools import GenerationTerms
from tests.factories import Factory, bearer, cart


async def all_codes(
    client: AsyncClient, admin: dict[str, str], campaign_id: UUID
) -> list[dict[str, Any]]:
    codes: list[dict[str, Any]] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 200} | ({"cursor": cursor} if cursor else {})
        page = await client.get(f"/v1/campaigns/{campaign_id}/codes", params=params, headers=admin)
        assert page.status_code == 200, page.text
        codes += page.json()["data"]
        cursor = page.json()["next_cursor"]
        if cursor is None:
            return codes


async def generate(
    client: AsyncClient, admin: dict[str, str], campaign_id: UUID, **body: Any
) -> dict[str, Any]:
    response = await client.post(
        f"/v1/campaigns/{campaign_id}/code-generations", json=body, headers=admin
    )
    assert response.status_code == 202, response.text
    assert response.headers["Location"] == f"/v1/code-jobs/{response.json()['id']}"
    return dict(response.json())


class TestGeneration:
    async def test_a_job_writes_the_codes_following_the_pattern(
        self, client: AsyncClient, admin: dict[str, str], factory: Factory
    ) -> None:
        campaign = await factory.campaign()
        job = await generate(client, admin, campaign.id, count=500, pattern="WELCOME-####-??**")
        assert job["requested"] == 500
        assert job["spec"]["pattern"] == "WELCOME-####-??**"

        # The ASGI test transport returns after the background work has run.
        done = (await client.get(f"/v1/code-jobs/{job['id']}", headers=admin)).json()
        assert (done["status"], done["created"], done["error"]) == ("succeeded", 500, None)
        assert done["finished_at"] is not None

        codes = await all_codes(client, admin, campaign.id)
        assert len(codes) == 500
        assert len({c["code"] for c in codes}) == 500
        letters = "".join(c for c in DEFAULT_CHARSET if c.isalpha())
        shape = re.compile(rf"WELCOME-[2-9]{{4}}-[{letters}]{{2}}[{DEFAULT_CHARSET}]{{2}}")
        assert all(shape.fullmatch(c["code"]) for c in codes)
        assert {(c["source"], c["max_redemptions"], c["customer_id"]) for c in codes} == {
            ("generated", 1, None)
        }

    async def test_generated_codes_redeem_once(
        self, client: AsyncClient, admin: dict[str, str], factory: Factory
    ) -> None:
        campaign = await factory.campaign()
        await generate(client, admin, campaign.id, count=1, length=12)
        [code] = await all_codes(client, admin, campaign.id)
        checkout = bearer(await factory.api_key(Scope.CHECKOUT))
        body = {"codes": [code["code"].lower()], "cart": cart(("shirt", 1, 2000))}
        first = await client.post(
            "/v1/redeem", json=body, headers={**checkout, "Idempotency-Key": "a"}
        )
        second = await client.post(
            "/v1/redeem", json=body, headers={**checkout, "Idempotency-Key": "b"}
        )
        assert first.status_code == 201, first.text
        assert second.status_code == 409
        assert second.json()["codes"][0]["reason"] == "limit_reached"

    async def test_a_space_too_small_for_the_count_is_refused_with_the_numbers(
        self, client: AsyncClient, admin: dict[str, str], factory: Factory
    ) -> None:
        campaign = await factory.campaign()
        response = await client.post(
            f"/v1/campaigns/{campaign.id}/code-generations",
            json={"count": 2000, "pattern": "WELCOME-####-????"},
            headers=admin,
        )
        assert response.status_code == 422
        problem = response.json()
        assert problem["code"] == "code_space_too_small"
        assert (problem["space"], problem["requested"], problem["max_count"]) == (
            8**4 * 23**4,
            2000,
            1146,
        )
        assert "1146" in problem["detail"]

    async def test_a_spec_that_cannot_make_codes_is_refused(
        self, client: AsyncClient, admin: dict[str, str], factory: Factory
    ) -> None:
        campaign = await factory.campaign()
        for body, field in [
            ({"count": 1, "pattern": "####", "charset": "ABCDEFGHJK"}, "pattern"),
            ({"count": 1, "pattern": "AB-##", "length": 5}, "pattern"),
            ({"count": 1, "charset": "aA"}, "charset"),
        ]:
            response = await client.post(
                f"/v1/campaigns/{campaign.id}/code-generations", json=body, headers=admin
            )
            assert response.status_code == 422, body
            assert response.json()["code"] == "invalid_code_spec"
            assert response.json()["fields"] == [field]

    async def test_bad_shapes_are_validation_errors(
        self, client: AsyncClient, admin: dict[str, str], factory: Factory
    ) -> None:
        campaign = await factory.campaign()
        for body in [
            {"count": 0},
            {"count": 10_000_001},
            {"count": 1, "charset": "AB CD"},
            {"count": 1, "pattern": "A B"},
            {"count": 1, "prefix": "A/B"},
            {"count": 1, "colour": "red"},
        ]:
            response = await client.post(
                f"/v1/campaigns/{campaign.id}/code-generations", json=body, headers=admin
            )
            assert response.status_code == 422, body
            assert response.json()["code"] == "validation_error"

    async def test_campaign_must_exist_and_take_codes(
        self, client: AsyncClient, admin: dict[str, str], factory: Factory
    ) -> None:
        missing = await client.post(
            "/v1/campaigns/00000000-0000-0000-0000-000000000000/code-generations",
            json={"count": 1},
            headers=admin,
        )
        assert (missing.status_code, missing.json()["code"]) == (404, "campaign_not_found")
        automatic = await factory.campaign(trigger=Trigger.AUTOMATIC)
        refused = await client.post(
            f"/v1/campaigns/{automatic.id}/code-generations", json={"count": 1}, headers=admin
        )
        assert (refused.status_code, refused.json()["code"]) == (422, "invalid_campaign")

    async def test_only_admins_generate_and_unknown_jobs_are_404(
        self, client: AsyncClient, admin: dict[str, str], factory: Factory
    ) -> None:
        campaign = await factory.campaign()
        support = bearer(await factory.api_key(Scope.SUPPORT))
        response = await client.post(
            f"/v1/campaigns/{campaign.id}/code-generations", json={"count": 1}, headers=support
        )
        assert response.status_code == 403
        missing = await client.get(
            "/v1/code-jobs/00000000-0000-0000-0000-000000000000", headers=admin
        )
        assert (missing.status_code, missing.json()["code"]) == (404, "job_not_found")

    async def test_progress_is_committed_batch_by_batch(self, factory: Factory) -> None:
        campaign = await factory.campaign()
        await factory.api_key(Scope.ADMIN, name="generator")
        async with factory.uow() as uow:
            [key] = [k for k in await uow.api_keys.list_all() if k.name == "generator"]
        terms = GenerationTerms(count=250, length=8, max_redemptions=3)
        job = await pools.start_generation(factory.uow(), campaign.id, key.id, terms)
        seen: list[int] = []

        class Watching:
            """A unit of work that notes the job's count each time a batch commits."""

            def __init__(self) -> None:
                self.inner = factory.uow()

            async def __aenter__(self) -> Any:
                return await self.inner.__aenter__()

            async def __aexit__(self, *exc: Any) -> None:
                await self.inner.__aexit__(*exc)
                seen.append((await pools.get_job(factory.uow(), job.id)).created)

        await pools.run_generation(Watching, job, terms, batch_size=100)  # type: ignore[arg-type]
        assert seen[:3] == [100, 200, 250]
        finished = await pools.get_job(factory.uow(), job.id)
        assert (finished.status, finished.created) == (JobStatus.SUCCEEDED, 250)
        async with factory.uow() as uow:
            codes = await uow.codes.list_page(campaign.id, limit=1000, after=None)
        assert len(codes) == 250
        assert {c.max_redemptions for c in codes} == {3}

    async def test_jobs_left_running_by_a_stopped_worker_are_ended(self, factory: Factory) -> None:
        campaign = await factory.campaign()
        await factory.api_key(Scope.ADMIN, name="generator")
        async with factory.uow() as uow:
            [key] = [k for k in await uow.api_keys.list_all() if k.name == "generator"]
        terms = GenerationTerms(count=10)
        stale = await pools.start_generation(factory.uow(), campaign.id, key.id, terms)
        fresh = await pools.start_generation(factory.uow(), campaign.id, key.id, terms)
        async with factory.uow() as uow:
            await uow.session.execute(
                text(
                    "UPDATE code_jobs SET updated_at = now() - interval '6 minutes' WHERE id = :id"
                ),
                {"id": stale.id},
            )
            await uow.commit()

        assert await pools.fail_stalled_jobs(factory.uow()) == 1

        ended = await pools.get_job(factory.uow(), stale.id)
        assert ended.status is JobStatus.FAILED
        assert ended.error is not None
        assert ended.error.startswith("Interrupted")
        assert (await pools.get_job(factory.uow(), fresh.id)).status is JobStatus.RUNNING


class TestClaims:
    async def test_each_customer_gets_one_code_and_keeps_it(
        self, client: AsyncClient, admin: dict[str, str], factory: Factory
    ) -> None:
        campaign = await factory.campaign()
        await generate(client, admin, campaign.id, count=3)
        support = bearer(await factory.api_key(Scope.SUPPORT))
        url = f"/v1/campaigns/{campaign.id}/claims"

        first = await client.post(url, json={"customer_id": "ann"}, headers=support)
        assert first.status_code == 201, first.text
        assert first.json()["customer_id"] == "ann"
        assert first.json()["assigned_at"] is not None
        again = await client.post(url, json={"customer_id": "ann"}, headers=support)
        assert (again.status_code, again.json()) == (200, first.json())

        others = [
            await client.post(url, json={"customer_id": name}, headers=support)
            for name in ("bob", "cat")
        ]
        assert [o.status_code for o in others] == [201, 201]
        assert len({first.json()["code"], *(o.json()["code"] for o in others)}) == 3

        empty = await client.post(url, json={"customer_id": "dan"}, headers=support)
        assert (empty.status_code, empty.json()["code"]) == (409, "pool_exhausted")

    async def test_a_claimed_code_is_bound_to_its_customer(
        self, client: AsyncClient, admin: dict[str, str], factory: Factory
    ) -> None:
        campaign = await factory.campaign()
        await generate(client, admin, campaign.id, count=1)
        claimed = await client.post(
            f"/v1/campaigns/{campaign.id}/claims", json={"customer_id": "ann"}, headers=admin
        )
        checkout = bearer(await factory.api_key(Scope.CHECKOUT))
        body = {"codes": [claimed.json()["code"]], "cart": cart(("shirt", 1, 2000))}
        verdicts = {}
        for customer in ("ann", "bob"):
            response = await client.post(
                "/v1/validate", json={**body, "customer": {"id": customer}}, headers=checkout
            )
            verdicts[customer] = response.json()["codes"][0]["reason"]
        assert verdicts == {"ann": None, "bob": "customer_mismatch"}

    async def test_named_codes_are_not_claimed(self, client: AsyncClient, factory: Factory) -> None:
        campaign = await factory.campaign()
        await factory.code(campaign, "SUMMER10")
        support = bearer(await factory.api_key(Scope.SUPPORT))
        response = await client.post(
            f"/v1/campaigns/{campaign.id}/claims", json={"customer_id": "ann"}, headers=support
        )
        assert (response.status_code, response.json()["code"]) == (409, "pool_exhausted")

    async def test_checkout_keys_cannot_claim(
        self, client: AsyncClient, checkout: dict[str, str], factory: Factory
    ) -> None:
        campaign = await factory.campaign()
        response = await client.post(
            f"/v1/campaigns/{campaign.id}/claims", json={"customer_id": "ann"}, headers=checkout
        )
        assert response.status_code == 403


def csv_body(text: str) -> dict[str, Any]:
    return {"content": text.encode(), "headers": {"Content-Type": "text/csv"}}


class TestImport:
    async def test_a_clean_file_is_imported_whole(
        self, client: AsyncClient, admin: dict[str, str], factory: Factory
    ) -> None:
        campaign = await factory.campaign()
        body = csv_body("note,Code\nfirst,Spring-7KQ2\n\nsecond,SPRING-M4XR\n")
        response = await client.post(
            f"/v1/campaigns/{campaign.id}/code-imports?max_redemptions=2",
            content=body["content"],
            headers={**admin, **body["headers"]},
        )
        assert (response.status_code, response.json()) == (201, {"imported": 2})
        codes = await all_codes(client, admin, campaign.id)
        assert sorted((c["code"], c["source"], c["max_redemptions"]) for c in codes) == [
            ("SPRING-M4XR", "imported", 2),
            ("Spring-7KQ2", "imported", 2),
        ]
        support = bearer(await factory.api_key(Scope.SUPPORT))
        claim = await client.post(
            f"/v1/campaigns/{campaign.id}/claims", json={"customer_id": "ann"}, headers=support
        )
        assert claim.status_code == 201

    async def test_any_bad_row_refuses_the_whole_file_by_line(
        self, client: AsyncClient, admin: dict[str, str], factory: Factory
    ) -> None:
        campaign = await factory.campaign()
        await factory.code(await factory.campaign(), "TAKEN-1")
        text = "code,note\nGOOD-1,a\n-bad,b\ngood-1,c\nonly-one-field\n"
        response = await client.post(
            f"/v1/campaigns/{campaign.id}/code-imports",
            content=text.encode(),
            headers={**admin, "Content-Type": "text/csv; charset=utf-8"},
        )
        assert response.status_code == 422
        problem = response.json()
        assert (problem["code"], problem["problem_count"]) == ("import_rejected", 3)
        assert [(p["line"], p["code"]) for p in problem["problems"]] == [
            (3, "-bad"),
            (4, "good-1"),
            (5, None),
        ]
        assert "Repeats the code on line 2" in problem["problems"][1]["reason"]

        existing = await client.post(
            f"/v1/campaigns/{campaign.id}/code-imports",
            content=b"code\nNEW-1\ntaken-1\n",
            headers={**admin, "Content-Type": "text/csv"},
        )
        assert existing.status_code == 422
        assert existing.json()["problems"] == [
            {"line": 3, "code": "taken-1", "reason": "The code already exists."}
        ]
        assert await all_codes(client, admin, campaign.id) == []

    async def test_only_csv_is_accepted(
        self, client: AsyncClient, admin: dict[str, str], factory: Factory
    ) -> None:
        campaign = await factory.campaign()
        url = f"/v1/campaigns/{campaign.id}/code-imports"
        as_json = await client.post(url, json={"code": "X"}, headers=admin)
        assert (as_json.status_code, as_json.json()["code"]) == (415, "unsupported_media_type")
        latin1 = await client.post(
            url,
            content="code\nCAFÉ\n".encode("latin-1"),
            headers={**admin, "Content-Type": "text/csv"},
        )
        assert (latin1.status_code, latin1.json()["code"]) == (422, "validation_error")
        headless = await client.post(
            url, content=b"A1\nB2\n", headers={**admin, "Content-Type": "text/csv"}
        )
        assert (
            headless.json()["problems"][0]["reason"] == "The first row must name a 'code' column."
        )


class TestExport:
    async def test_every_code_with_its_state(
        self,
        client: AsyncClient,
        admin: dict[str, str],
        factory: Factory,
        monkeypatch: Any,
    ) -> None:
        monkeypatch.setattr(pools, "EXPORT_PAGE", 2)  # several pages
        campaign = await factory.campaign()
        await client.post(
            f"/v1/campaigns/{campaign.id}/code-imports",
            content=b"code\nP-1\nP-2\nP-3\nP-4\nP-5\n",
            headers={**admin, "Content-Type": "text/csv"},
        )
        await factory.code(campaign, "GONE", expires_at=datetime(2020, 1, 1, tzinfo=UTC))
        claim = await client.post(
            f"/v1/campaigns/{campaign.id}/claims", json={"customer_id": "ann"}, headers=admin
        )
        checkout = bearer(await factory.api_key(Scope.CHECKOUT))
        redeemed = await client.post(
            "/v1/redeem",
            json={
                "codes": [claim.json()["code"]],
                "customer": {"id": "ann"},
                "cart": cart(("shirt", 1, 2000)),
            },
            headers={**checkout, "Idempotency-Key": "export-1"},
        )
        assert redeemed.status_code == 201, redeemed.text

        response = await client.get(f"/v1/campaigns/{campaign.id}/codes/export", headers=admin)

        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/csv")
        rows = list(csv.DictReader(io.StringIO(response.text)))
        assert len(rows) == 6
        by_code = {row["code"]: row for row in rows}
        taken = by_code.pop(claim.json()["code"])
        assert (taken["status"], taken["customer_id"]) == ("redeemed", "ann")
        assert taken["redeemed_at"]
        assert taken["assigned_at"]
        assert by_code.pop("GONE")["status"] == "expired"
        assert {row["status"] for row in by_code.values()} == {"available"}
        assert {row["redeemed_at"] for row in by_code.values()} == {""}

    async def test_values_a_spreadsheet_would_run_are_exported_as_text(
        self, client: AsyncClient, admin: dict[str, str], factory: Factory
    ) -> None:
        campaign = await factory.campaign()
        hostile = {
            '=HYPERLINK("http://evil.example")': "FORMULA-1",
            "+1+1": "FORMULA-2",
            "-2+3": "FORMULA-3",
            "@SUM(A1)": "FORMULA-4",
            "cus_plain": "PLAIN-1",
        }
        for customer_id, code in hostile.items():
            await factory.code(campaign, code, customer_id=customer_id)
        response = await client.get(f"/v1/campaigns/{campaign.id}/codes/export", headers=admin)
        rows = {row["code"]: row for row in csv.DictReader(io.StringIO(response.text))}
        for customer_id, code in hostile.items():
            exported = rows[code]["customer_id"]
            if customer_id == "cus_plain":
                assert exported == customer_id
            else:
                assert exported == "'" + customer_id

    async def test_unknown_campaign_is_a_problem_not_an_empty_file(
        self, client: AsyncClient, admin: dict[str, str]
    ) -> None:
        response = await client.get(
            "/v1/campaigns/00000000-0000-0000-0000-000000000000/codes/export", headers=admin
        )
        assert (response.status_code, response.json()["code"]) == (404, "campaign_not_found")
