"""The repository's calculation vectors (vectors/*.yaml), run as a shop's CI runs them: the
command against a live Tessera, through the public API."""

import subprocess
import sys
from pathlib import Path

import yaml

from app.domain.kinds import CONDITION_KINDS, EFFECT_KINDS
from tests.contract.conftest import LIVE_ADMIN_KEY

ROOT = Path(__file__).resolve().parents[2]
VECTORS = sorted((ROOT / "vectors").glob("*.yaml"))


def test_every_vector_holds_against_a_live_service(vectors_server: str) -> None:
    command = [
        sys.executable,
        "scripts/vectors.py",
        "--url",
        vectors_server,
        "--key",
        LIVE_ADMIN_KEY,
    ]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    count = sum(len(yaml.safe_load(path.read_text())["vectors"]) for path in VECTORS)
    assert f"{count} of {count} vectors hold" in done.stdout


def test_the_vectors_cover_every_kind() -> None:
    effects: set[str] = set()
    conditions: set[str] = set()
    for path in VECTORS:
        for vector in yaml.safe_load(path.read_text())["vectors"]:
            for campaign in vector["campaigns"]:
                effects.update(effect["type"] for effect in campaign["effects"])
                cart = campaign.get("conditions", {}).get("cart", [])
                conditions.update(condition["type"] for condition in cart)
    assert effects == set(EFFECT_KINDS)
    assert conditions == set(CONDITION_KINDS)
