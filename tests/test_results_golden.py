"""Golden cases of `results`: each folder under fixtures/cases-results/ is a tree run through the CLI.

A case holds its tree, `expected.txt` (the default report), `expected.json` (`--format json`, the
verdicts with their evidence), `expected.diff` (`--diff`, the declaration edits), and optionally
`args` (extra CLI arguments, one per line). The diff must apply with `git apply`, `--write` must
give the same tree, and a second run over the result must change nothing. Set UPDATE_GOLDEN=1 to
rewrite the expectations after a reviewed change.
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import FIXTURES, git, run_cli
from tests.golden import case_args, case_fixture, expect

CASES = sorted(p for p in (FIXTURES / "cases-results").iterdir() if p.is_dir())
case = case_fixture(CASES)


def test_report_matches_expected(case: tuple[Path, Path]) -> None:
    source, _ = case
    result = run_cli("results", ".", *case_args(source))
    assert result.exit_code == 0, result.stderr
    expect(source, "expected.txt", result.stdout_bytes)


def test_json_matches_expected(case: tuple[Path, Path]) -> None:
    source, _ = case
    result = run_cli("results", ".", "--format", "json", *case_args(source))
    document = json.loads(result.stdout)
    assert set(document) == {"version", "tasks", "apps", "changes", "diagnostics", "summary"}
    for task in document["tasks"]:
        assert task["evidence"], f"{task['name']}: a verdict without evidence"
        if task["verdict"] == "unread":  # confirmable: every call found, every result dropped
            assert task["calls"] > 0
            assert {e["kind"] for e in task["evidence"] if e["eager"] is not True} == {"discarded"}
    expect(source, "expected.json", result.stdout_bytes)


def test_diff_applies_with_git_and_is_idempotent(case: tuple[Path, Path], tmp_path: Path) -> None:
    source, work = case
    diff = run_cli("results", ".", "--diff", *case_args(source)).stdout_bytes
    expect(source, "expected.diff", diff)
    if diff:
        patch = tmp_path / "results.patch"
        patch.write_bytes(diff)
        git(work, "apply", "--check", str(patch))
        git(work, "apply", str(patch))
    again = run_cli("results", ".", "--diff", *case_args(source))
    assert again.stdout_bytes == b"", "a second run over the output must change nothing"
    assert run_cli("results", ".", "--check", *case_args(source)).exit_code == 0


def test_write_equals_applied_diff(case: tuple[Path, Path]) -> None:
    source, work = case
    diff = run_cli("results", ".", "--diff", *case_args(source)).stdout
    written = run_cli("results", ".", "--write", *case_args(source))
    assert written.exit_code == 0, written.stderr
    changed = git(work, "diff", "--no-color", "--no-ext-diff")
    normalise = [line for line in diff.splitlines() if not line.startswith("@@")]
    got = [
        line for line in changed.splitlines() if not line.startswith(("@@", "diff --git", "index "))
    ]
    assert got == normalise
