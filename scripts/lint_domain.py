"""Architecture checks ruff cannot express: app/domain stays pure and float-free.

- no imports outside the standard library and app.domain;
- no `float` in annotations or calls (money is integer minor units).
"""

import ast
import sys
from pathlib import Path

DOMAIN = Path(__file__).resolve().parent.parent / "app" / "domain"
ALLOWED_ROOTS = set(sys.stdlib_module_names) | {"app"}


def problems(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found = []
    for node in ast.walk(tree):
        line = getattr(node, "lineno", 0)
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            names = [node.module or ""]
        else:
            names = []
        for name in names:
            root = name.split(".")[0]
            if root not in ALLOWED_ROOTS or (root == "app" and not name.startswith("app.domain")):
                found.append(f"{path}:{line}: domain imports {name}")
        if isinstance(node, ast.Name) and node.id == "float":
            found.append(f"{path}:{line}: float in the domain (use integer minor units)")
        if isinstance(node, ast.Constant) and isinstance(node.value, float):
            found.append(f"{path}:{line}: float literal in the domain")
    return found


def main() -> int:
    found = [p for path in sorted(DOMAIN.rglob("*.py")) for p in problems(path)]
    for line in found:
        print(line)  # noqa: T201
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
