"""Architecture checks ruff cannot express: each layer imports only what it may.

- app/domain: the standard library and app.domain only, and no `float` (money is integer
  minor units);
- app/services: no sqlalchemy, asyncpg, fastapi or starlette (SQL lives in app/db, HTTP in
  app/api);
- app/api: no app.db, except in the dependency wiring (deps.py, fast_routes.py) and the
  translation of database errors into problems (problems.py).
"""

import ast
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APP = ROOT / "app"
STDLIB = set(sys.stdlib_module_names)
WIRING = {"deps.py", "fast_routes.py", "problems.py"}


def _imports(tree: ast.AST) -> Iterator[tuple[int, str]]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.lineno, node.module


def _domain(name: str) -> bool:
    root = name.split(".")[0]
    return root in STDLIB or name == "app.domain" or name.startswith("app.domain.")


def _service(name: str) -> bool:
    return name.split(".")[0] not in {"sqlalchemy", "asyncpg", "fastapi", "starlette"}


def _api(name: str) -> bool:
    return not (name == "app.db" or name.startswith("app.db."))


RULES: dict[str, tuple[Callable[[str], bool], str]] = {
    "domain": (_domain, "the domain imports only the standard library and app.domain"),
    "services": (_service, "services import no sqlalchemy, asyncpg, fastapi or starlette"),
    "api": (_api, "the API imports app.db only in deps.py, fast_routes.py and problems.py"),
}


def problems(path: Path, app: Path = APP) -> list[str]:
    layer = path.relative_to(app).parts[0]
    if layer not in RULES or (layer == "api" and path.name in WIRING):
        return []
    allowed, rule = RULES[layer]
    tree = ast.parse(path.read_text(), filename=str(path))
    found = [
        f"{path}:{line}: imports {name}: {rule}"
        for line, name in _imports(tree)
        if not allowed(name)
    ]
    if layer == "domain":
        for node in ast.walk(tree):
            line = getattr(node, "lineno", 0)
            if isinstance(node, ast.Name) and node.id == "float":
                found.append(f"{path}:{line}: float in the domain (use integer minor units)")
            if isinstance(node, ast.Constant) and isinstance(node.value, float):
                found.append(f"{path}:{line}: float literal in the domain")
    return found


def main() -> int:
    found = [p for path in sorted(APP.rglob("*.py")) for p in problems(path)]
    for line in found:
        print(line)  # noqa: T201
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
