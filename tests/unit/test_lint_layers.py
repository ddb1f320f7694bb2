"""The layer check catches what it is there to catch."""

from pathlib import Path

import pytest

from scripts.lint_layers import problems


def _module(app: Path, where: str, source: str) -> Path:
    path = app / where
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(source)
    return path


@pytest.mark.parametrize(
    ("where", "source", "caught"),
    [
        ("domain/money.py", "import sqlalchemy\n", True),
        ("domain/money.py", "from app.db.models import Code\n", True),
        ("domain/money.py", "RATE: float = 0.5\n", True),
        ("domain/money.py", "from dataclasses import dataclass\nfrom app.domain import x\n", False),
        ("services/redeem.py", "from sqlalchemy import select\n", True),
        ("services/redeem.py", "import asyncpg\n", True),
        ("services/redeem.py", "from fastapi import Request\n", True),
        ("services/redeem.py", "from app.db.uow import UnitOfWork\n", False),
        ("api/routers/codes.py", "from app.db.uow import UnitOfWork\n", True),
        ("api/schemas/codes.py", "import app.db.models\n", True),
        ("api/deps.py", "from app.db.uow import UnitOfWork\n", False),
        ("api/routers/codes.py", "from app.services import campaigns\n", False),
    ],
)
def test_each_layer_imports_only_what_it_may(
    tmp_path: Path, where: str, source: str, caught: bool
) -> None:
    app = tmp_path / "app"
    assert bool(problems(_module(app, where, source), app)) is caught


def test_the_app_keeps_to_its_layers() -> None:
    root = Path(__file__).resolve().parents[2] / "app"
    assert [p for path in sorted(root.rglob("*.py")) for p in problems(path)] == []
