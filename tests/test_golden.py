"""Whole-tree golden cases: each folder under fixtures/cases/ (and the demo) is run through the CLI.

A case holds worker/ and producer/ trees, `expected.diff` (the default output) and `expected.json`
(`--format json`), and optionally `args` (extra CLI arguments, one per line). Set
UPDATE_GOLDEN=1 to rewrite the expectations after a reviewed change.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from tests.conftest import FIXTURES, copy_tree, git, init_repo, run_cli

CASES = [*sorted(p for p in (FIXTURES / "cases").iterdir() if p.is_dir()), FIXTURES / "demo"]
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"


def _args(case: Path) -> list[str]:
    extra = case / "args"
    return extra.read_text().split() if extra.exists() else []


def _expect(case: Path, name: str, actual: bytes) -> None:
    # Parse errors name the Python that read the file; the expectations hold for any.
    actual = re.sub(rb"read as Python \d+\.\d+", b"read as Python 3.x", actual)
    expected_file = case / name
    if UPDATE:
        expected_file.write_bytes(actual)
    assert actual == expected_file.read_bytes()


@pytest.fixture(params=CASES, ids=lambda p: p.name)
def case(request: pytest.FixtureRequest, tmp_path: Path, in_dir) -> tuple[Path, Path]:
    """(the case folder with its expectations, a git repository holding a copy of its trees)."""
    work = copy_tree(request.param, tmp_path / "work")
    init_repo(work)
    in_dir(work)
    return request.param, work


def test_diff_matches_expected(case: tuple[Path, Path]) -> None:
    source, _ = case
    result = run_cli("fix", ".", *_args(source))
    assert result.exit_code == 0, result.stderr
    _expect(source, "expected.diff", result.stdout_bytes)


def test_json_matches_expected(case: tuple[Path, Path]) -> None:
    source, _ = case
    result = run_cli("fix", ".", "--format", "json", *_args(source))
    document = json.loads(result.stdout)
    assert set(document) == {"version", "changes", "diagnostics", "summary"}
    _expect(source, "expected.json", result.stdout_bytes)


def test_diff_applies_with_git_and_is_idempotent(case: tuple[Path, Path], tmp_path: Path) -> None:
    source, work = case
    diff = run_cli("fix", ".", *_args(source)).stdout_bytes
    patch = tmp_path / "fix.patch"
    patch.write_bytes(diff)
    if diff:
        git(work, "apply", "--check", str(patch))
        git(work, "apply", str(patch))
    written = {p: p.read_bytes() for p in work.rglob("*.py")}
    again = run_cli("fix", ".", *_args(source))
    assert again.stdout_bytes == b"", "a second run over the output must change nothing"
    assert {p: p.read_bytes() for p in work.rglob("*.py")} == written


def test_write_equals_applied_diff(case: tuple[Path, Path], tmp_path: Path) -> None:
    source, work = case
    diff = run_cli("fix", ".", *_args(source)).stdout
    written = run_cli("fix", ".", "--write", *_args(source))
    assert written.exit_code in (0, 1)
    changed = git(work, "diff", "--no-color", "--no-ext-diff")
    normalise = [line for line in diff.splitlines() if not line.startswith("@@")]
    got = [
        line for line in changed.splitlines() if not line.startswith(("@@", "diff --git", "index "))
    ]
    assert got == normalise
