"""The test harness itself: a run leaves nothing in the temporary directory, even a run split
over xdist workers in which a test fails."""

import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

CHILD_TESTS = """
import asyncpg

from tests.conftest import _asyncpg_dsn


async def test_the_server_answers(server_url: str) -> None:
    conn = await asyncpg.connect(_asyncpg_dsn(server_url))
    try:
        assert await conn.fetchval("SELECT 1") == 1
    finally:
        await conn.close()


def test_a_failure(tmp_path) -> None:
    (tmp_path / "written").write_text("by a test that fails")
    assert False
"""


class TestHarness:
    def test_a_failing_run_on_two_workers_leaves_an_empty_temporary_directory(self) -> None:
        # The child run gets temporary and runtime directories of its own, so what other runs
        # on the machine do in the real ones cannot matter. Not under tmp_path: the server's
        # socket lives in its data folder, and a unix socket's path is limited to 107 bytes.
        with tempfile.TemporaryDirectory(prefix="tessera-harness-") as own:
            temp, runtime, tests = (Path(own) / name for name in ("tmp", "run", "tests"))
            for folder in (temp, runtime, tests):
                folder.mkdir(mode=0o700)
            (tests / "test_child.py").write_text(CHILD_TESTS, encoding="utf-8")
            result = _pytest(tests / "test_child.py", temp=temp, runtime=runtime)
            assert result.returncode == 1, result.stdout + result.stderr
            assert "1 failed, 1 passed" in result.stdout, result.stdout
            assert sorted(path.name for path in temp.iterdir()) == []


def _pytest(path: Path, *, temp: Path, runtime: Path) -> subprocess.CompletedProcess[str]:
    """Run pytest on path with this suite's configuration and fixtures, on two workers."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("PYTEST_", "HYPOTHESIS_"))
    }
    env |= {
        "TMPDIR": str(temp),
        "XDG_RUNTIME_DIR": str(runtime),
        "PYTHONPATH": str(ROOT),
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    command = [sys.executable, "-m", "pytest", "-c", str(ROOT / "pyproject.toml")]
    command += ["-p", "tests.conftest", "-p", "no:cacheprovider", "-n", "2", "--dist", "loadgroup"]
    return subprocess.run(
        [*command, str(path)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
