"""The printed diff names files so that `git apply` takes it, also for files outside the current
folder (`fix ../other`), while JSON paths stay relative to the current folder."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path

from tests.conftest import git, init_repo, run_cli

WORKER = 'from celery import Celery\napp = Celery("p")\n@app.task(queue="q")\ndef add(): pass\n'
CALL = 'from proj.celery import app\napp.send_task("proj.celery.add")\n'


def _tree(folder: Path) -> Path:
    (folder / "proj").mkdir(parents=True)
    (folder / "proj" / "__init__.py").write_text("")
    (folder / "proj" / "celery.py").write_text(WORKER)
    (folder / "svc").mkdir()
    (folder / "svc" / "calls.py").write_text(CALL)
    return folder


def test_a_file_in_another_repository_is_named_from_that_repository_root(
    tmp_path: Path, in_dir: Callable[[Path], Path]
) -> None:
    other = init_repo(_tree(tmp_path / "other"))
    here = init_repo(_tree(tmp_path / "here"))
    in_dir(here)
    result = run_cli("fix", "../other/svc", "--workers", "../other/proj")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith("--- a/svc/calls.py\n+++ b/svc/calls.py\n")
    assert "relative to their repository's root" in result.stderr
    document = json.loads(
        run_cli("fix", "../other/svc", "--workers", "../other/proj", "--format", "json").stdout
    )
    assert [c["path"] for c in document["changes"]] == ["../other/svc/calls.py"]
    patch = tmp_path / "fix.diff"
    patch.write_bytes(result.stdout_bytes)
    git(other, "apply", "--check", str(patch))
    git(other, "apply", str(patch))
    assert 'queue="q"' in (other / "svc" / "calls.py").read_text()


def test_a_sibling_folder_of_the_same_repository_is_named_from_its_root(
    tmp_path: Path, in_dir: Callable[[Path], Path]
) -> None:
    repo = init_repo(_tree(tmp_path / "repo"))
    (repo / "tools").mkdir()
    in_dir(repo / "tools")
    result = run_cli("fix", "../svc", "--workers", "../proj")
    assert result.stdout.startswith("--- a/svc/calls.py\n")
    patch = tmp_path / "fix.diff"
    patch.write_bytes(result.stdout_bytes)
    git(repo, "apply", "--check", str(patch))


def test_outside_any_repository_the_absolute_path_is_named(
    tmp_path: Path, in_dir: Callable[[Path], Path]
) -> None:
    other = _tree(tmp_path / "other")
    (tmp_path / "here").mkdir()
    in_dir(tmp_path / "here")
    result = run_cli("fix", "../other/svc", "--workers", "../other/proj")
    assert result.exit_code == 0, result.stderr
    relative = (other / "svc" / "calls.py").resolve().as_posix().lstrip("/")
    assert result.stdout.startswith(f"--- a/{relative}\n")
    patch = tmp_path / "fix.diff"
    patch.write_bytes(result.stdout_bytes)
    subprocess.run(["git", "-C", "/", "apply", str(patch)], check=True, capture_output=True)
    assert 'queue="q"' in (other / "svc" / "calls.py").read_text()


def test_files_under_the_current_folder_keep_their_relative_paths(
    tmp_path: Path, in_dir: Callable[[Path], Path]
) -> None:
    repo = init_repo(_tree(tmp_path / "repo"))
    in_dir(repo / "svc")
    result = run_cli("fix", ".", "--workers", "../proj")
    assert result.stdout.startswith("--- a/calls.py\n")
    assert "relative to their repository's root" not in result.stderr
    patch = tmp_path / "fix.diff"
    patch.write_bytes(result.stdout_bytes)
    git(repo / "svc", "apply", "--check", str(patch))
