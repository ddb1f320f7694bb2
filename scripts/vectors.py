"""Run the calculation vectors (vectors/*.yaml) against a Tessera, through its public API.

    python scripts/vectors.py --url http://127.0.0.1:8000 --key tsk_... [vectors/bundles.yaml ...]

or `make vectors URL=... KEY=...`. The key needs the admin scope (it creates campaigns and
codes) and checkout (it validates). Every run names its codes with a fresh suffix and scopes
its automatic campaigns to a customer segment of its own, so runs never meet each other or the
shop's own codes; it pauses what it created when done. Run it against an instance whose own
automatic promotions cannot apply to its carts (a test or staging instance): those would
change the amounts, as they would at a real checkout. Exit status 0 when every vector holds.

The format (README.md, "Calculation vectors"):

    vectors:
      - name: 3 for 10.00 from the cheapest units
        campaigns:                 # each: a POST /v1/campaigns body, plus `code` (the name
          - code: B3               # the request uses) unless its trigger is automatic
            effects: [{type: bundle, quantity: 3, price_amounts: {EUR: 1000}}]
        request:                   # a POST /v1/validate body; codes by their names above
          codes: [B3]
          cart: {currency: EUR, lines: [{sku: a, quantity: 3, unit_price_amount: 400}]}
        expect:                    # any of these, amounts in minor units
          discount_amount: 200
          shipping_discount_amount: 0
          total_amount: 1000
          cashback_amount: 0
          lines: [200]             # each line's discount_amount, in request order
          codes: {B3: null}        # each code's reason; null: it applies
          skipped: {}              # automatic campaigns refused, by campaign name: reason
"""

import argparse
import copy
import secrets
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import yaml

ROOT = Path(__file__).resolve().parent.parent
AMOUNTS = ("discount_amount", "shipping_discount_amount", "total_amount", "cashback_amount")


@dataclass
class Outcome:
    name: str
    problems: list[str] = field(default_factory=list)


def load(paths: Iterable[Path]) -> list[tuple[str, dict[str, Any]]]:
    """(file name, vector) for every vector of every file, in order."""
    found = []
    for path in paths:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        for vector in data["vectors"]:
            found.append((path.name, vector))
    return found


def run_vector(client: httpx.Client, vector: dict[str, Any], run: str, number: int) -> Outcome:
    outcome = Outcome(vector["name"])
    segment = f"vectors-{run}"
    names: dict[str, str] = {}
    created: list[str] = []
    try:
        for spec in vector.get("campaigns", []):
            body = copy.deepcopy(spec)
            code = body.pop("code", None)
            body.setdefault("name", f"{vector['name']} ({code or 'automatic'})")
            if body.get("trigger") == "automatic":
                conditions = body.setdefault("conditions", {})
                conditions["segments"] = [*conditions.get("segments", []), segment]
            response = client.post("/v1/campaigns", json=body)
            if response.status_code != 201:
                outcome.problems.append(f"campaign refused: {response.status_code} {response.text}")
                return outcome
            campaign_id = response.json()["id"]
            created.append(campaign_id)
            if code is not None:
                names[code] = f"{code}-{run}-{number}"
                made = client.post(f"/v1/campaigns/{campaign_id}/codes", json={"code": names[code]})
                if made.status_code != 201:
                    outcome.problems.append(f"code refused: {made.status_code} {made.text}")
                    return outcome
        request = copy.deepcopy(vector["request"])
        request["codes"] = [names.get(code, code) for code in request.get("codes", [])]
        customer = request.setdefault("customer", {"id": f"vectors-{run}"})
        customer["segments"] = [*customer.get("segments", []), segment]
        response = client.post("/v1/validate", json=request)
        if response.status_code != 200:
            outcome.problems.append(f"validate answered {response.status_code}: {response.text}")
            return outcome
        outcome.problems.extend(compare(vector["expect"], response.json(), names))
        return outcome
    finally:
        for campaign_id in created:
            client.post(f"/v1/campaigns/{campaign_id}/pause")


def compare(expect: dict[str, Any], got: dict[str, Any], names: dict[str, str]) -> list[str]:
    problems = []
    for key in AMOUNTS:
        if key in expect and got[key] != expect[key]:
            problems.append(f"{key}: expected {expect[key]}, got {got[key]}")
    if "lines" in expect:
        lines = [line["discount_amount"] for line in got["lines"]]
        if lines != expect["lines"]:
            problems.append(f"line discounts: expected {expect['lines']}, got {lines}")
    if "codes" in expect:
        reasons = {verdict["code"]: verdict["reason"] for verdict in got["codes"]}
        for code, reason in expect["codes"].items():
            actual = reasons.get(names.get(code, code), "<absent>")
            if actual != reason:
                problems.append(f"code {code}: expected reason {reason}, got {actual}")
    if "skipped" in expect:
        skipped = {s["campaign_name"]: s["reason"] for s in got["skipped"]}
        for name, reason in expect["skipped"].items():
            if skipped.get(name) != reason:
                problems.append(f"skipped {name}: expected {reason}, got {skipped.get(name)}")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--url", required=True, help="The Tessera to check, e.g. http://127.0.0.1:8000"
    )
    parser.add_argument(
        "--key", required=True, help="An API key with the admin and checkout scopes"
    )
    parser.add_argument("files", nargs="*", type=Path, help="Default: every vectors/*.yaml")
    args = parser.parse_args(argv)
    files = args.files or sorted((ROOT / "vectors").glob("*.yaml"))
    run = secrets.token_hex(4).upper()
    failed = 0
    say = sys.stdout.write
    headers = {"Authorization": f"Bearer {args.key}"}
    with httpx.Client(base_url=args.url, headers=headers, timeout=30) as client:
        vectors = load(files)
        for number, (file_name, vector) in enumerate(vectors):
            outcome = run_vector(client, vector, run, number)
            if outcome.problems:
                failed += 1
                say(f"FAIL {file_name}: {outcome.name}\n")
                for problem in outcome.problems:
                    say(f"     {problem}\n")
            else:
                say(f"ok   {file_name}: {outcome.name}\n")
    say(f"{len(vectors) - failed} of {len(vectors)} vectors hold\n")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
