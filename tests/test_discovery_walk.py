"""Outside git the tree is walked: as deep as the file system allows, in a stable order."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from codemods.discovery import discover
from tests.conftest import run_cli

CALL = 'from proj.celery import app\napp.send_task("proj.tasks.unknown")\n'


@pytest.fixture
def deep_tree(tmp_path: Path) -> Iterator[Path]:
    """1,200 nested folders, made and removed one at a time (`Path.mkdir(parents=True)` and
    `shutil.rmtree` recurse)."""
    deep = tmp_path
    for _ in range(1_200):
        deep = deep / "d"
        deep.mkdir()
    yield deep
    while deep != tmp_path:
        for child in deep.iterdir():
            child.unlink()
        deep.rmdir()
        deep = deep.parent


def test_a_tree_deeper_than_the_python_stack_is_walked(
    tmp_path: Path, deep_tree: Path, in_dir
) -> None:
    in_dir(tmp_path)
    (deep_tree / "producer.py").write_text(CALL)
    (tmp_path / "top.py").write_text("X = 1\n")
    found = discover(["."])
    assert found.files == ("d/" * 1_200 + "producer.py", "top.py")
    result = run_cli("fix", "--check", "--format", "json", ".")
    assert "Traceback" not in result.stderr
    assert '"files_scanned": 2' in result.stdout


def test_the_walk_skips_what_it_always_skipped(tmp_path: Path, in_dir) -> None:
    in_dir(tmp_path)
    for folder in ("a/b", "a/.venv/lib", "a/env/lib", "pkg.egg-info", "node_modules/x", "z"):
        (tmp_path / folder).mkdir(parents=True, exist_ok=True)
        (tmp_path / folder / "m.py").write_text("X = 1\n")
    (tmp_path / "a" / "env" / "pyvenv.cfg").write_text("home = /usr\n")
    (tmp_path / "a" / "notes.txt").write_text("")
    os.symlink(tmp_path / "z", tmp_path / "a" / "linked")
    os.symlink(tmp_path / "z" / "m.py", tmp_path / "a" / "alias.py")
    found = discover(["."])
    assert found.files == ("a/b/m.py", "z/m.py")
    assert found.symlinks == ("a/alias.py",)
