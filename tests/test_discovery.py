"""Which files a run reads: what is named is processed, once, including inside submodules."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from codemods.discovery import discover
from tests.conftest import git, run_cli

TASK = 'from celery import Celery\napp = Celery("p")\n@app.task(queue="q")\ndef add(*a): pass\n'
CALL = 'from celery import current_app as app\napp.send_task("proj.celery.add")\n'


def project(root: Path) -> Path:
    (root / "proj").mkdir(parents=True)
    (root / "proj" / "__init__.py").write_text("")
    (root / "proj" / "celery.py").write_text(TASK)
    return root


def commit(root: Path) -> None:
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "x")


def test_a_directory_git_ignores_is_processed_when_named(tmp_path: Path, in_dir) -> None:
    root = in_dir(project(tmp_path))
    git(root, "init", "-q")
    (root / ".gitignore").write_text("generated/\n")
    (root / "generated").mkdir()
    (root / "generated" / "client.py").write_text(CALL)
    commit(root)
    result = run_cli("fix", "--check", "generated", "--workers", "proj")
    assert result.exit_code == 1
    assert "1 call in 1 file would change (1 file scanned" in result.stderr
    assert run_cli("fix", "--check", ".").exit_code == 0, "not named: git decides"


def test_two_spellings_of_one_file_are_processed_once(tmp_path: Path, in_dir) -> None:
    root = in_dir(project(tmp_path))
    (root / "p.py").write_text(CALL)
    diff = run_cli("fix", ".", str(root))
    assert diff.stdout.count("+++ b/p.py") == 1
    assert "(3 files scanned" in diff.stderr
    (root / "out.diff").write_text(diff.stdout)
    subprocess.run(["git", "apply", "--check", "out.diff"], cwd=root, check=True)
    written = run_cli("fix", "--write", "p.py", str(root / "p.py"), "--workers", "proj")
    assert written.exit_code == 0, written.stderr
    assert "changed 1 call in 1 file" in written.stderr
    assert 'queue="q"' in (root / "p.py").read_text()


def test_submodules_and_nested_repositories_are_listed(tmp_path: Path, in_dir) -> None:
    library = tmp_path / "library"
    library.mkdir()
    (library / "p.py").write_text(CALL)
    git(library, "init", "-q")
    commit(library)
    root = project(tmp_path / "super")
    git(root, "init", "-q")
    git(root, "-c", "protocol.file.allow=always", "submodule", "add", "-q", str(library), "sub")
    commit(root)
    (root / "nested").mkdir()
    (root / "nested" / "q.py").write_text(CALL)
    git(root / "nested", "init", "-q")  # untracked, with its own git
    in_dir(root)
    found = discover([Path(".")])
    assert {"sub/p.py", "nested/q.py", "proj/celery.py"} <= set(found.files)
    result = run_cli("fix", "--format", "json", ".")
    paths = {c["path"] for c in json.loads(result.stdout)["changes"]}
    assert paths == {"sub/p.py", "nested/q.py"}


def test_git_vouches_only_for_unchanged_tracked_files(tmp_path: Path, in_dir) -> None:
    root = in_dir(project(tmp_path))
    git(root, "init", "-q")
    (root / "a.py").write_text("A = 1\n")
    (root / "gone.py").write_text("B = 1\n")
    commit(root)
    (root / "a.py").write_text("A = 2\n")
    (root / "gone.py").unlink()
    (root / "new.py").write_text("C = 1\n")
    os.symlink("a.py", root / "link.py")
    found = discover([Path(".")])
    assert found.files == ("a.py", "new.py", "proj/__init__.py", "proj/celery.py")
    assert found.symlinks == ("link.py",)
    assert set(found.digests) == {"proj/__init__.py", "proj/celery.py"}
    assert set(found.stats) == {"a.py", "new.py"}
