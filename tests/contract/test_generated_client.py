"""Shops generate clients from the committed spec: generate one with openapi-python-client's
default configuration and use it against the running service, so a spec that generators choke
on, or that describes other bodies than the service sends, fails here."""

import importlib
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest

from tests.contract.conftest import LIVE_ADMIN_KEY

ROOT = Path(__file__).resolve().parents[2]
SPEC = ROOT / "openapi" / "openapi.json"
PACKAGE = "tessera_generated_client"


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleType]:
    out = tmp_path_factory.mktemp("client")
    generator = Path(sys.executable).parent / "openapi-python-client"
    finished = subprocess.run(
        [
            *(str(generator), "generate", "--path", str(SPEC), "--meta", "none"),
            *("--output-path", str(out / PACKAGE)),
        ],
        capture_output=True,
        text=True,
        # Its formatting step runs ruff from PATH: the one beside this interpreter.
        env={**os.environ, "PATH": f"{generator.parent}{os.pathsep}{os.environ['PATH']}"},
        check=False,
    )
    assert finished.returncode == 0, finished.stdout + finished.stderr
    # The only part it may leave out: the CSV import, a media type it does not support.
    warnings = [line for line in finished.stdout.splitlines() if line.startswith("WARNING")]
    assert all("code-imports" in line for line in warnings), finished.stdout
    sys.path.insert(0, str(out))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(out))
        for name in [n for n in sys.modules if n.startswith(PACKAGE)]:
            del sys.modules[name]


def _module(name: str) -> Any:
    return importlib.import_module(f"{PACKAGE}.{name}")


def _setup(base: str) -> str:
    """A checkout key and a code SPEC10 (10 % off, 2 uses); the key's secret."""
    admin = {"Authorization": f"Bearer {LIVE_ADMIN_KEY}"}
    with httpx.Client(base_url=base, headers=admin) as http:
        key = http.post("/v1/api-keys", json={"name": "shop ci", "scopes": ["checkout"]})
        campaign = http.post(
            "/v1/campaigns",
            json={"name": "Generated", "effects": [{"type": "percent_off", "basis_points": 1000}]},
        )
        code = http.post(
            f"/v1/campaigns/{campaign.json()['id']}/codes",
            json={"code": f"GEN{uuid.uuid4().hex[:8]}", "max_redemptions": 2},
        )
        assert code.status_code == 201, code.text
        return f"{key.json()['key']} {code.json()['code']}"


def test_a_generated_client_validates_and_redeems(live_server: str, generated: ModuleType) -> None:
    secret, code = _setup(live_server).split()
    models = _module("models")
    validate = _module("api.checkout.validate")
    redeem = _module("api.checkout.redeem")
    rollback = _module("api.checkout.rollback_redemption")
    client = generated.AuthenticatedClient(base_url=live_server, token=secret)
    cart = models.Cart(
        currency=models.CartCurrency("EUR"),
        lines=[models.CartLine(sku="shirt", quantity=2, unit_price_amount=1999)],
    )

    verdict = validate.sync(
        client=client,
        body=models.ValidationRequest(
            cart=cart, codes=[code], customer=models.Customer(id="cus_1"), client_ip="203.0.113.7"
        ),
    )
    assert isinstance(verdict, models.Validation)
    assert (verdict.valid, verdict.discount_amount, verdict.total_amount) == (True, 400, 3598)
    assert verdict.codes[0].reason is None

    body = models.RedemptionCreate(cart=cart, codes=[code], order_id="gen-1")
    key = str(uuid.uuid4())
    first = redeem.sync_detailed(client=client, body=body, idempotency_key=key)
    assert first.status_code == 201
    redemption = first.parsed
    assert isinstance(redemption, models.Redemption)
    assert (redemption.status, redemption.amount_due) == ("succeeded", 3598)

    rolled = rollback.sync(client=client, redemption_id=redemption.id)
    assert isinstance(rolled, models.Redemption)
    replay = redeem.sync_detailed(client=client, body=body, idempotency_key=key)
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert isinstance(replay.parsed, models.Redemption)
    assert replay.parsed.status == "rolled_back"

    refused = redeem.sync_detailed(
        client=client,
        body=models.RedemptionCreate(cart=cart, codes=["NO-SUCH-CODE"]),
        idempotency_key=str(uuid.uuid4()),
    )
    assert refused.status_code == 409
    assert isinstance(refused.parsed, models.Problem)
    assert refused.parsed.code == "redemption_refused"
    assert refused.parsed.codes[0].reason == "not_found"
