"""Whole-tree golden cases: each folder under fixtures/cases/ (and the demo) is run through the CLI.

A case holds worker/ and producer/ trees, `expected.diff` (the default output) and `expected.json`
(`--format json`), and optionally `args` (extra CLI arguments, one per line). Set
UPDATE_GOLDEN=1 to rewrite the expectations after a reviewed change.
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import FIXTURES, git, run_cli
from tests.golden import case_args, case_fixture, expect

CASES = [*sorted(p for p in (FIXTURES / "cases").iterdir() if p.is_dir()), FIXTURES / "demo"]
case = case_fixture(CASES)


def test_diff_matches_expected(case: tuple[Path, Path]) -> None:
    source, _ = case
    result = run_cli("fix", ".", *case_args(source))
    assert result.exit_code == 0, result.stderr
    expect(source, "expected.diff", result.stdout_bytes)


def test_json_matches_expected(case: tuple[Path, Path]) -> None:
    source, _ = case
    result = run_cli("fix", ".", "--format", "json", *case_args(source))
    document = json.loads(result.stdout)
    assert set(document) == {"version", "changes", "diagnostics", "summary"}
    expect(source, "expected.json", result.stdout_bytes)


def test_diff_applies_with_git_and_is_idempotent(case: tuple[Path, Path], tmp_path: Path) -> None:
    source, work = case
    diff = run_cli("fix", ".", *case_args(source)).stdout_bytes
    patch = tmp_path / "fix.patch"
    patch.write_bytes(diff)
    if diff:
        git(work, "apply", "--check", str(patch))
        git(work, "apply", str(patch))
    written = {p: p.read_bytes() for p in work.rglob("*.py")}
    again = run_cli("fix", ".", *case_args(source))
    assert again.stdout_bytes == b"", "a second run over the output must change nothing"
    assert {p: p.read_bytes() for p in work.rglob("*.py")} == written


def test_write_equals_applied_diff(case: tuple[Path, Path], tmp_path: Path) -> None:
    source, work = case
    diff = run_cli("fix", ".", *case_args(source)).stdout
    written = run_cli("fix", ".", "--write", *case_args(source))
    assert written.exit_code in (0, 1)
    changed = git(work, "diff", "--no-color", "--no-ext-diff")
    normalise = [line for line in diff.splitlines() if not line.startswith("@@")]
    got = [
        line for line in changed.splitlines() if not line.startswith(("@@", "diff --git", "index "))
    ]
    assert got == normalise
