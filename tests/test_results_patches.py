"""`results --patches` over files with uncommitted changes, with real git: the declaration edits
are made again on HEAD's version, so that each patch applies with `git am` to a clean checkout,
and the files are listed; a declaration HEAD does not hold as written leaves its file out."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from codemods.declare import ATTRIBUTE, KEYWORD, DeclarationEdit, EditMismatch, relocate
from tests.conftest import git, run_cli
from tests.test_patches_safety import clone, git_am, hermetic_git, make_repo  # noqa: F401

APP = 'from celery import Celery\n\napp = Celery("proj")\n'
TASKS = """\
from proj.celery import app


@app.task(queue="q")
def notify(x):
    return x


class Report(app.Task):
    name = "proj.tasks.report"

    def run(self, x):
        return x


app.register_task(Report())


@app.task
def total(x):
    return x


def go():
    notify.delay(1)
    total.delay(2)
    app.tasks["proj.tasks.report"].delay(3)
"""
# Work in progress: lines added above and between the declarations, a helper changed.
DIRTY = TASKS.replace(
    "from proj.celery import app\n",
    "import logging\n\nfrom proj.celery import app\n\nlog = logging.getLogger(__name__)\n",
).replace("    return x\n\n\n@app.task\n", '    log.info("x")\n    return x\n\n\n@app.task\n')
EDITED = (
    TASKS.replace('@app.task(queue="q")', '@app.task(queue="q", ignore_result=True)')
    .replace("@app.task\n", "@app.task(ignore_result=True)\n")
    .replace(
        '    name = "proj.tasks.report"\n',
        '    name = "proj.tasks.report"\n    ignore_result = True\n',
    )
)


@pytest.fixture
def repo(tmp_path: Path, in_dir) -> Path:
    files = {"proj/__init__.py": "", "proj/celery.py": APP, "proj/tasks.py": TASKS}
    return in_dir(make_repo(tmp_path / "repo", files))


def test_a_dirty_file_is_patched_from_head_and_the_patch_applies_to_a_clean_checkout(
    repo: Path, tmp_path: Path
) -> None:
    (repo / "proj" / "tasks.py").write_text(DIRTY)
    result = run_cli("results", ".", "--patches", tmp_path / "out")
    assert result.exit_code == 0, result.stderr
    assert (
        "these files have uncommitted changes: their patches are made from HEAD's version, "
        "without those changes:\n  proj/tasks.py\n"
    ) in result.stderr
    assert (repo / "proj" / "tasks.py").read_text() == DIRTY  # the tree is not touched
    [patch] = (tmp_path / "out").iterdir()
    checkout = clone(repo, tmp_path / "clean")
    applied = git_am(checkout, patch)
    assert applied.returncode == 0, applied.stderr
    assert (checkout / "proj" / "tasks.py").read_text() == EDITED
    git(checkout, "status", "--porcelain")  # git reads the result
    assert run_cli("results", str(checkout), "--check").exit_code == 0


def test_a_clean_file_is_patched_from_the_tree_beside_a_dirty_one(
    repo: Path, tmp_path: Path
) -> None:
    (repo / "jobs.py").write_text("from proj.tasks import total\n\ntotal.delay(5)\n")
    git(repo, "add", "jobs.py")
    git(repo, "commit", "-q", "-m", "jobs")
    (repo / "proj" / "tasks.py").write_text(DIRTY)
    result = run_cli("results", ".", "--patches", tmp_path / "out", "--split-depth", "0")
    assert result.exit_code == 0, result.stderr
    [patch] = (tmp_path / "out").iterdir()
    checkout = clone(repo, tmp_path / "clean")
    assert git_am(checkout, patch).returncode == 0
    assert (checkout / "proj" / "tasks.py").read_text() == EDITED


def test_a_declaration_changed_since_head_leaves_its_file_out_and_the_exit_is_1(
    repo: Path, tmp_path: Path
) -> None:
    (repo / "proj" / "tasks.py").write_text(TASKS.replace('queue="q"', 'queue="slow"'))
    result = run_cli("results", ".", "--patches", tmp_path / "out")
    assert result.exit_code == 1
    assert (
        "proj/tasks.py:4: error unsafe-rewrite: HEAD's version, left out of the patches: the "
        "declaration edit cannot be placed on this version (the declaration of 'notify' is not "
        "there as it is here); the file was left alone"
    ) in result.stderr
    assert list((tmp_path / "out").glob("*")) == []


def test_a_file_head_lacks_is_left_out(repo: Path, tmp_path: Path) -> None:
    (repo / "proj" / "more.py").write_text(
        "from proj.celery import app\n\n\n@app.task\ndef more():\n    pass\n\n\nmore.delay()\n"
    )
    result = run_cli("results", ".", "--patches", tmp_path / "out")
    assert result.exit_code == 1
    assert (
        "proj/more.py:1: error read-error: left out of the patches: HEAD does not have this file"
    ) in result.stderr
    [patch] = (tmp_path / "out").iterdir()
    assert "proj/more.py" not in patch.read_text()
    assert "proj/tasks.py" in patch.read_text()


def test_declarations_alike_are_placed_in_their_order() -> None:
    head = "if X:\n\n    @app.task\n    def a():\n        pass\n\nelse:\n\n    @app.task\n    def a():\n        pass\n"
    work = "import os\n" + head
    edits = [DeclarationEdit(4, "a", KEYWORD), DeclarationEdit(10, "a", KEYWORD)]
    placed = relocate(edits, ast.parse(work), ast.parse(head))
    assert [e.line for e in placed] == [3, 9]


def test_a_class_that_already_sets_the_option_in_head_is_refused() -> None:
    work = "class T(app.Task):\n    name = 'x'\n"
    head = "class T(app.Task):\n    name = 'x'\n    ignore_result = False\n"
    with pytest.raises(EditMismatch, match="already sets ignore_result"):
        relocate([DeclarationEdit(1, "T", ATTRIBUTE)], ast.parse(work), ast.parse(head))
