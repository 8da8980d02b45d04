"""A run that could check little says so in one `incomplete-index` warning naming the fix."""

from __future__ import annotations

import json
from pathlib import Path
from textwrap import dedent

from codemods.coverage import Checked, coverage_warning
from codemods.model import Diagnostic, Severity, TaskDef, TaskIndex
from tests.conftest import FIXTURES, copy_tree, run_cli


def write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(dedent(text))
    return root


def warnings(*args: str | Path) -> list[str]:
    result = run_cli("fix", "--format", "json", *args)
    assert result.exit_code == 0, result.stderr
    return [
        d["message"]
        for d in json.loads(result.stdout)["diagnostics"]
        if d["code"] == "incomplete-index" and d["severity"] == "warning"
    ]


PRODUCER = """\
    from celery import current_app

    def go():
        current_app.send_task("proj.tasks.add", args=[1, 2])
        current_app.send_task("proj.tasks.mul", args=[1, 2])
"""
TASKS = """\
    from celery import shared_task

    @shared_task(ignore_result=True)
    def add(x, y):
        return x + y

    @shared_task(ignore_result=True)
    def mul(x, y):
        return x * y
"""


def test_producers_without_their_workers(tmp_path: Path, in_dir) -> None:
    write(tmp_path, {"producer/calls.py": PRODUCER, "src/proj/__init__.py": "",
                     "src/proj/tasks.py": TASKS})  # fmt: skip
    in_dir(tmp_path)
    found = warnings("producer")
    assert len(found) == 1
    assert found[0].startswith("no task declaration was found, so none of the 2 calls")
    assert "--workers" in found[0]
    assert warnings("producer", "--workers", "src") == []
    text = run_cli("fix", "producer")
    lines = text.stderr.splitlines()
    assert lines[-2].startswith("producer:1: warning incomplete-index: ")  # beside the summary
    assert lines[-1].endswith("0 errors, 3 warnings, 0 info")  # two unknown-task as well


def test_names_under_another_root_name_the_source_root(tmp_path: Path, in_dir) -> None:
    write(tmp_path, {"producer/calls.py": PRODUCER, "src/proj/__init__.py": "",
                     "src/proj/tasks.py": TASKS})  # fmt: skip
    in_dir(tmp_path)
    (found,) = warnings(".", "--source-root", ".")
    assert "('proj.tasks.add' is indexed as 'src.proj.tasks.add')" in found
    assert found.endswith("pass --source-root src")
    assert warnings(".", "--source-root", "src", "--source-root", "producer") == []


def test_declarations_whose_app_is_elsewhere(tmp_path: Path, in_dir) -> None:
    tasks = """\
        from proj.celery import app

        @app.task(queue="a")
        def a():
            pass

        @app.task(queue="b")
        def b():
            pass
        """
    write(tmp_path, {"proj/__init__.py": "", "proj/tasks.py": tasks,
                     "proj/celery.py": "from celery import Celery\napp = Celery('proj')\n"})  # fmt: skip
    in_dir(tmp_path)
    (found,) = warnings(".", "--exclude", "proj/celery.py")
    assert found.startswith("only 0 of 2 task declarations could be indexed (2 whose app cannot")
    assert "point --workers at the code that creates the Celery app" in found
    assert warnings(".") == []


def test_a_clean_run_has_no_such_warning(tmp_path: Path, in_dir) -> None:
    in_dir(copy_tree(FIXTURES / "demo", tmp_path / "demo"))
    assert warnings(".") == []


def test_the_most_common_reason_names_the_fix() -> None:
    not_indexed = [
        Diagnostic("w.py", line, "custom-task-names", Severity.INFO, "") for line in (1, 2, 3)
    ]
    index = TaskIndex({"x": TaskDef("x", "w.py", 9)}, diagnostics=(*not_indexed,))
    found = coverage_warning(index, Checked(0, ()), where=".", loaded=0)
    assert found is not None
    assert found.message == (
        "only 1 of 4 task declarations could be indexed (3 named by the app's own "
        "gen_task_name), so calls to the others cannot be checked: pass --index with the live "
        "registry (`celery-codemod index --app MODULE:APP -o tasks.json`)"
    )
    assert coverage_warning(index, Checked(3, ("y",)), where=".", loaded=0) is not None
    half = TaskIndex({"x": TaskDef("x", "w.py", 9)}, diagnostics=not_indexed[:1])
    assert coverage_warning(half, Checked(2, ("y",)), where=".", loaded=0) is None
