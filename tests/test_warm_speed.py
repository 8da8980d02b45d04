"""A warm run does only the work its output needs, and gives what a cold run gives."""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import FIXTURES, git, init_repo, run_cli
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
    unused = {"tempfile", "ctypes", "tomllib", "decimal", "codemods.diff"}
    assert not unused & warm, (
        f"{unused & warm}: what only writing, diffs or a configuration need is not imported"
    )
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


# -- files git vouches for ------------------------------------------------------------------------


def _info() -> dict[str, int]:
    rows: dict[str, int] = json.loads(run_cli("cache", "info", "--format", "json").stdout)["rows"]
    return rows


def _json(*args: str) -> tuple[int, bytes]:
    result = run_cli("fix", "--check", "--format", "json", *args)
    return result.exit_code, result.stdout_bytes


def test_files_git_vouches_for_need_no_row_of_their_own(tmp_path: Path, in_dir) -> None:
    repo = tmp_path / "repo"
    shutil.copytree(FIXTURES / "demo", repo, ignore=shutil.ignore_patterns("expected.*"))
    for i in range(30):
        (repo / "producers" / f"plain{i}.py").write_text(f"def f():\n    return {i}\n")
    init_repo(in_dir(repo))
    cold = _json("--no-cache")
    assert _json() == cold
    assert _json() == cold
    rows = _info()
    assert rows["files"] == 0, "git's index gives every digest"
    assert rows["plain"] == 1, "one row holds the files without a hint"
    assert rows["scans"] < 20
    # A call added to a file without a hint is seen, staged or not, committed or not.
    extra = repo / "producers" / "plain3.py"
    extra.write_text('from proj.celery import app\napp.send_task("proj.billing.charge")\n')
    changed = _json("--no-cache")
    assert changed != cold
    assert _json() == changed
    git(repo, "commit", "-qam", "a call")
    assert _json() == changed
    assert _json() == changed


def test_a_package_init_is_not_taken_for_a_module_of_the_same_content(
    tmp_path: Path, in_dir
) -> None:
    """An `__init__` that imports is parsed (it may re-export an app); a module file with the
    same bytes holds no hint."""
    repo = tmp_path / "repo"
    (repo / "svc").mkdir(parents=True)
    reexport = "from .core import app as application\n"
    (repo / "svc" / "__init__.py").write_text(reexport)
    (repo / "svc" / "other.py").write_text(reexport)
    (repo / "svc" / "core.py").write_text('from celery import Celery\napp = Celery("svc")\n')
    (repo / "svc" / "jobs.py").write_text(
        'from svc import application\n\n@application.task(queue="q")\ndef run():\n    pass\n'
    )
    (repo / "call.py").write_text('from svc.core import app\napp.send_task("svc.jobs.run")\n')
    init_repo(in_dir(repo))
    cold = _json("--no-cache")
    assert b'"queue": "q"' in cold[1]
    assert _json() == cold
    assert _json() == cold


def test_a_damaged_plain_row_only_costs_speed(tmp_path: Path, in_dir, private_cache) -> None:
    repo = tmp_path / "repo"
    shutil.copytree(FIXTURES / "demo", repo, ignore=shutil.ignore_patterns("expected.*"))
    for i in range(3):
        (repo / "producers" / f"plain{i}.py").write_text(f"X = {i}\n")
    init_repo(in_dir(repo))
    cold = _json("--no-cache")
    _json()
    (database,) = private_cache.glob("cache-*.sqlite")
    db = sqlite3.connect(database)
    ((digests,),) = db.execute("SELECT digests FROM plain").fetchall()
    db.execute("UPDATE plain SET digests = ?", (digests[:-7] + b"\xff" * 7,))
    db.commit()
    db.close()
    assert _json() == cold
    assert _json() == cold
