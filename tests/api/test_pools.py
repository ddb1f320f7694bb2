"""Code pools through the API: generation jobs, refused specs, claims."""

import csv
import io
import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import pytest
from httpx import AsyncClient

from app.clock import utc_now
from app.db.uow import UnitOfWork
from app.domain.api_keys import Scope
from app.domain.campaigns import Code, Trigger
from app.domain.codegen import DEFAULT_CHARSET
from app.domain.jobs import JobStatus as QueueStatus
from app.domain.pools import JobStatus
from app.services import jobs, pools
from app.services.jobs import Lease, LeaseLost, Outcome, Worker
from app.services.pools import GenerationTerms
from tests.factories import Factory, bearer, cart
from tests.workers import run_due_jobs, stopping_after


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
    client: AsyncClient, admin: dict[str, str], worker: Worker, campaign_id: UUID, **body: Any
) -> dict[str, Any]:
    """Ask for a generation, then run the queued job as the worker process would."""
    response = await client.post(
        f"/v1/campaigns/{campaign_id}/code-generations", json=body, headers=admin
    )
    assert response.status_code == 202, response.text
    assert response.headers["Location"] == f"/v1/code-jobs/{response.json()['id']}"
    assert [ran.outcome for ran in await run_due_jobs(worker)] == [Outcome.SUCCEEDED]
    return dict(response.json())


async def admin_key_id(factory: Factory) -> UUID:
    await factory.api_key(Scope.ADMIN, name="generator")
    async with factory.uow() as uow:
        [key] = [k for k in await uow.api_keys.list_all() if k.name == "generator"]
    return key.id


async def codes_of(factory: Factory, campaign_id: UUID) -> list[Code]:
    async with factory.uow() as uow:
        return await uow.codes.list_page(campaign_id, limit=1000, after=None)


class Died(Exception):
    """A worker process killed between two batches: nothing after this runs."""


class TestGeneration:
    async def test_a_job_writes_the_codes_following_the_pattern(
        self, client: AsyncClient, admin: dict[str, str], factory: Factory, worker: Worker
    ) -> None:
        campaign = await factory.campaign()
        response = await client.post(
            f"/v1/campaigns/{campaign.id}/code-generations",
            json={"count": 500, "pattern": "WELCOME-####-??**"},
            headers=admin,
        )
        assert response.status_code == 202, response.text
        job = response.json()
        assert job["requested"] == 500
        assert job["spec"]["pattern"] == "WELCOME-####-??**"
        # The request only queued the job: the codes are a worker's to write.
        queued = (await client.get(f"/v1/code-jobs/{job['id']}", headers=admin)).json()
        assert (queued["status"], queued["created"]) == ("running", 0)

        assert [ran.outcome for ran in await run_due_jobs(worker)] == [Outcome.SUCCEEDED]
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
        self, client: AsyncClient, admin: dict[str, str], factory: Factory, worker: Worker
    ) -> None:
        campaign = await factory.campaign()
        await generate(client, admin, worker, campaign.id, count=1, length=12)
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

    async def test_progress_is_committed_batch_by_batch(
        self, factory: Factory, worker: Worker
    ) -> None:
        campaign = await factory.campaign()
        key_id = await admin_key_id(factory)
        terms = GenerationTerms(count=250, length=8, max_redemptions=3)
        job = await pools.start_generation(
            factory.uow(), campaign.id, key_id, terms, batch_size=100
        )
        seen: list[int] = []

        class Watching:
            """A unit of work that notes the job's count each time it ends."""

            def __init__(self) -> None:
                self.inner = factory.uow()

            async def __aenter__(self) -> Any:
                return await self.inner.__aenter__()

            async def __aexit__(self, *exc: Any) -> None:
                await self.inner.__aexit__(*exc)
                seen.append((await pools.get_job(factory.uow(), job.id)).created)

        watched = replace(worker, new_uow=Watching)  # type: ignore[arg-type]
        ran = await jobs.run_one(watched, utc_now())

        assert ran is not None
        assert (ran.outcome, ran.attempt) == (Outcome.SUCCEEDED, 1)
        # The claim, three batches (the last ends the code job), the job's end.
        assert seen == [0, 100, 200, 250, 250]
        finished = await pools.get_job(factory.uow(), job.id)
        assert (finished.status, finished.created) == (JobStatus.SUCCEEDED, 250)
        codes = await codes_of(factory, campaign.id)
        assert len(codes) == 250
        assert {c.max_redemptions for c in codes} == {3}

    async def test_a_job_whose_worker_died_is_taken_over_and_written_to_the_count(
        self, factory: Factory, worker: Worker
    ) -> None:
        campaign = await factory.campaign()
        terms = GenerationTerms(count=250, length=8)
        code_job = await pools.start_generation(
            factory.uow(), campaign.id, await admin_key_id(factory), terms, batch_size=100
        )
        now = utc_now()
        dead = await claimed(factory, worker, now)
        await write_one_batch_then_die(worker, dead, code_job.id)
        assert (await pools.get_job(factory.uow(), code_job.id)).created == 100

        # Nobody takes the job while its lease lasts; once it has lapsed, the next worker does.
        assert await jobs.run_one(worker, now) is None
        lapsed = now + timedelta(seconds=worker.settings.jobs.lease_seconds + 1)
        ran = await jobs.run_one(worker, lapsed)

        assert ran is not None
        assert (ran.outcome, ran.attempt) == (Outcome.SUCCEEDED, 2)
        finished = await pools.get_job(factory.uow(), code_job.id)
        assert (finished.status, finished.created, finished.error) == (
            JobStatus.SUCCEEDED,
            250,
            None,
        )
        codes = await codes_of(factory, campaign.id)
        assert len({c.code.lower() for c in codes}) == len(codes) == 250
        # The dead worker's token moves nothing any more.
        async with factory.uow() as uow:
            with pytest.raises(LeaseLost):
                await dead.begin_step(uow)

    async def test_a_job_out_of_attempts_ends_its_code_job_saying_how_far_it_got(
        self, factory: Factory, worker: Worker
    ) -> None:
        campaign = await factory.campaign()
        terms = GenerationTerms(count=250, length=8)
        code_job = await pools.start_generation(
            factory.uow(), campaign.id, await admin_key_id(factory), terms, batch_size=100
        )
        lease = timedelta(seconds=worker.settings.jobs.lease_seconds + 1)
        now = utc_now()
        await write_one_batch_then_die(worker, await claimed(factory, worker, now), code_job.id)
        # Every later worker dies too, before writing anything.
        for attempt in range(2, worker.settings.jobs.max_attempts + 1):
            now += lease
            assert (await claimed(factory, worker, now)).job.attempts == attempt

        ran = await jobs.run_one(worker, now + lease)

        assert ran is not None
        assert ran.outcome is Outcome.FAILED
        failed = await pools.get_job(factory.uow(), code_job.id)
        assert (failed.status, failed.created) == (JobStatus.FAILED, 100)
        assert failed.error == (
            "Stopped with 100 of 250 codes written. Its worker stopped during the last of its "
            "5 attempts. The codes written exist and are counted; start a new job for the rest."
        )
        assert failed.finished_at is not None
        assert len(await codes_of(factory, campaign.id)) == 100
        async with factory.uow() as uow:
            job = await uow.jobs.get(ran.job_id)
        assert job is not None
        assert (job.status, job.attempts) == (QueueStatus.FAILED, 5)

    async def test_a_stopping_worker_gives_the_job_back_between_batches(
        self, factory: Factory, worker: Worker
    ) -> None:
        campaign = await factory.campaign()
        terms = GenerationTerms(count=250, length=8)
        code_job = await pools.start_generation(
            factory.uow(), campaign.id, await admin_key_id(factory), terms, batch_size=100
        )

        ran = await jobs.run_one(stopping_after(worker, 2), utc_now())

        assert ran is not None
        assert ran.outcome is Outcome.RELEASED
        assert (await pools.get_job(factory.uow(), code_job.id)).created == 200
        async with factory.uow() as uow:
            job = await uow.jobs.get(ran.job_id)
        assert job is not None
        # Due at once, and the stop did not count as an attempt.
        assert (job.status, job.attempts, job.lease_token) == (QueueStatus.QUEUED, 0, None)
        [again] = await run_due_jobs(worker)
        assert (again.job_id, again.outcome, again.attempt) == (job.id, Outcome.SUCCEEDED, 1)
        assert len(await codes_of(factory, campaign.id)) == 250


async def claimed(factory: Factory, worker: Worker, now: datetime) -> Lease:
    """The due job, claimed at now by a worker that will die."""
    async with factory.uow() as uow:
        job = await uow.jobs.claim(now, now + timedelta(seconds=worker.settings.jobs.lease_seconds))
        await uow.commit()
    assert job is not None
    return Lease(job, worker, now)


async def write_one_batch_then_die(worker: Worker, lease: Lease, code_job_id: UUID) -> None:
    batches = 0

    async def begin_batch(uow: UnitOfWork) -> None:
        nonlocal batches
        if batches == 1:
            raise Died
        batches += 1
        await lease.begin_step(uow)

    with pytest.raises(Died):
        await pools.run_generation(worker.new_uow, code_job_id, begin_batch, batch_size=100)


class TestClaims:
    async def test_each_customer_gets_one_code_and_keeps_it(
        self, client: AsyncClient, admin: dict[str, str], factory: Factory, worker: Worker
    ) -> None:
        campaign = await factory.campaign()
        await generate(client, admin, worker, campaign.id, count=3)
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
        self, client: AsyncClient, admin: dict[str, str], factory: Factory, worker: Worker
    ) -> None:
        campaign = await factory.campaign()
        await generate(client, admin, worker, campaign.id, count=1)
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
