"""A warm run does only the work its output needs, and gives what a cold run gives."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import FIXTURES, run_cli
from tests.test_cache_format import _poison


@pytest.fixture
def demo(tmp_path: Path, in_dir) -> Path:
    work = tmp_path / "demo"
    shutil.copytree(FIXTURES / "demo", work, ignore=shutil.ignore_patterns("expected.*"))
    return in_dir(work)


def imported(cwd: Path, *args: str) -> tuple[set[str], str]:
    """The modules a run imports, and what it printed on stderr."""
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "codemods", "fix", *args],
        cwd=cwd, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 1, result.stderr
    lines = result.stderr.splitlines()
    modules = {line.split("|")[-1].strip() for line in lines if line.startswith("import time:")}
    shown = "\n".join(line for line in lines if not line.startswith("import time:"))
    return modules, shown


def test_a_warm_check_without_a_diff_makes_no_edit_again(demo: Path) -> None:
    """Only which calls change is shown: an edit made in full before is not made again."""
    cold, cold_shown = imported(demo, "--check", "--no-cache")
    assert "codemods.verify" in cold
    imported(demo, "--check")  # fills the cache
    warm, warm_shown = imported(demo, "--check")
    assert warm_shown == cold_shown
    assert "codemods.verify" not in warm, "no edit was made or verified again"
    with_diff, _ = imported(demo, "--check", "--diff")
    assert "codemods.verify" in with_diff, "a diff is made of verified text"


def test_a_forged_edit_row_changes_no_diff_and_no_check(demo: Path, private_cache: Path) -> None:
    cold = run_cli("fix", "--check", "--diff", "--no-cache")
    run_cli("fix", "--check", "--diff")  # fills the cache, edits included

    def forge(payload: bytes, path: bytes) -> bytes:
        return payload.replace(b"queue", b"QUEUE")

    _poison(private_cache, "edits", forge)
    check = run_cli("fix", "--check")
    assert (check.exit_code, check.stderr) == (cold.exit_code, cold.stderr)
    diff = run_cli("fix", "--check", "--diff")
    assert (diff.exit_code, diff.stdout_bytes) == (cold.exit_code, cold.stdout_bytes)
    assert b"QUEUE" not in diff.stdout_bytes
