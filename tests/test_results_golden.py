"""Golden cases of `results`: each folder under fixtures/cases-results/ is a tree run through the CLI.

A case holds its tree, `expected.txt` (the default report), `expected.json` (`--format json`, the
verdicts with their evidence), `expected.diff` (`--diff`, the declaration edits), and optionally
`args` (extra CLI arguments, one per line). The diff must apply with `git apply`, `--write` must
give the same tree, and a second run over the result must change nothing. Set UPDATE_GOLDEN=1 to
rewrite the expectations after a reviewed change.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.conftest import FIXTURES, copy_tree, git, init_repo, run_cli

CASES = sorted(p for p in (FIXTURES / "cases-results").iterdir() if p.is_dir())
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"


def _args(case: Path) -> list[str]:
    extra = case / "args"
    return extra.read_text().split() if extra.exists() else []


def _expect(case: Path, name: str, actual: bytes) -> None:
    expected_file = case / name
    if UPDATE:
        expected_file.write_bytes(actual)
    assert actual.decode() == expected_file.read_text()


@pytest.fixture(params=CASES, ids=lambda p: p.name)
def case(request: pytest.FixtureRequest, tmp_path: Path, in_dir) -> tuple[Path, Path]:
    """(the case folder with its expectations, a git repository holding a copy of its tree)."""
    work = copy_tree(request.param, tmp_path / "work")
    init_repo(work)
    in_dir(work)
    return request.param, work


def test_report_matches_expected(case: tuple[Path, Path]) -> None:
    source, _ = case
    result = run_cli("results", ".", *_args(source))
    assert result.exit_code == 0, result.stderr
    _expect(source, "expected.txt", result.stdout_bytes)


def test_json_matches_expected(case: tuple[Path, Path]) -> None:
    source, _ = case
    result = run_cli("results", ".", "--format", "json", *_args(source))
    document = json.loads(result.stdout)
    assert set(document) == {"version", "tasks", "apps", "changes", "diagnostics", "summary"}
    for task in document["tasks"]:
        assert task["evidence"], f"{task['name']}: a verdict without evidence"
        if task["verdict"] == "unread":  # confirmable: every call found, every result dropped
            assert task["calls"] > 0
            assert {e["kind"] for e in task["evidence"] if e["eager"] is not True} == {"discarded"}
    _expect(source, "expected.json", result.stdout_bytes)


def test_diff_applies_with_git_and_is_idempotent(case: tuple[Path, Path], tmp_path: Path) -> None:
    source, work = case
    diff = run_cli("results", ".", "--diff", *_args(source)).stdout_bytes
    _expect(source, "expected.diff", diff)
    if diff:
        patch = tmp_path / "results.patch"
        patch.write_bytes(diff)
        git(work, "apply", "--check", str(patch))
        git(work, "apply", str(patch))
    again = run_cli("results", ".", "--diff", *_args(source))
    assert again.stdout_bytes == b"", "a second run over the output must change nothing"
    assert run_cli("results", ".", "--check", *_args(source)).exit_code == 0


def test_write_equals_applied_diff(case: tuple[Path, Path]) -> None:
    source, work = case
    diff = run_cli("results", ".", "--diff", *_args(source)).stdout
    written = run_cli("results", ".", "--write", *_args(source))
    assert written.exit_code == 0, written.stderr
    changed = git(work, "diff", "--no-color", "--no-ext-diff")
    normalise = [line for line in diff.splitlines() if not line.startswith("@@")]
    got = [
        line for line in changed.splitlines() if not line.startswith(("@@", "diff --git", "index "))
    ]
    assert got == normalise
