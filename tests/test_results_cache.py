"""`results` over a cache that `fix` filled reads what each module does with results again."""

from __future__ import annotations

import json
from pathlib import Path
from textwrap import dedent
from typing import Any

import pytest

from codemods import resultscmd
from tests.conftest import run_cli

TASKS = """\
    from celery import Celery

    app = Celery("proj")


    @app.task
    def notify(user_id):
        return user_id
"""
VIEWS = """\
    from proj.tasks import notify


    def signup(user_id):
        notify.delay(user_id)
"""


def _verdicts(*args: str) -> list[tuple[str, str, int]]:
    done = run_cli("results", ".", "--format", "json", *args)
    assert done.exit_code == 0, done.stderr
    return [(t["name"], t["verdict"], t["calls"]) for t in json.loads(done.stdout)["tasks"]]


def test_results_after_fix_with_one_cache_equals_results_without_cache(
    tmp_path: Path, in_dir, private_cache: Path
) -> None:
    (tmp_path / "proj").mkdir()
    (tmp_path / "proj" / "__init__.py").write_text("")
    (tmp_path / "proj" / "tasks.py").write_text(dedent(TASKS))
    (tmp_path / "web").mkdir()
    (tmp_path / "web" / "views.py").write_text(dedent(VIEWS))
    in_dir(tmp_path)
    cold = _verdicts("--no-cache")
    assert cold == [("proj.tasks.notify", "unread", 1)]
    assert run_cli("fix", ".", "--check").exit_code == 0  # fills the cache, without result facts
    assert _verdicts() == cold
    assert _verdicts() == cold  # and the scans `results` made are the ones kept


def _project(root: Path) -> None:
    (root / "proj").mkdir()
    (root / "proj" / "__init__.py").write_text("")
    (root / "proj" / "tasks.py").write_text(dedent(TASKS))
    (root / "web").mkdir()
    (root / "web" / "views.py").write_text(dedent(VIEWS))


def test_a_warm_run_reports_the_declaration_edits_a_cold_run_makes(
    tmp_path: Path, in_dir, private_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _project(tmp_path)
    in_dir(tmp_path)
    cold = run_cli("results", ".", "--format", "json", "--no-cache")
    made: list[str] = []
    edit_source = resultscmd._edit_source

    def counted(display: str, *args: Any, **kwargs: Any) -> Any:
        made.append(display)
        return edit_source(display, *args, **kwargs)

    monkeypatch.setattr(resultscmd, "_edit_source", counted)
    for _ in range(3):  # the first fills the cache; the others find the edit made in full
        warm = run_cli("results", ".", "--format", "json")
        assert made == ["proj/tasks.py"]
        assert (warm.exit_code, warm.stdout) == (cold.exit_code, cold.stdout)
        check = run_cli("results", ".", "--check")
        assert check.exit_code == 1
        assert "would rewrite proj/tasks.py" in check.stderr
    diff = run_cli("results", ".", "--diff")  # the text is made again when it is shown
    assert made == ["proj/tasks.py", "proj/tasks.py"]
    assert diff.exit_code == 0, diff.stderr
    assert "+@app.task(ignore_result=True)" in diff.stdout
    assert run_cli("results", ".", "--write").exit_code == 0
    assert "@app.task(ignore_result=True)" in (tmp_path / "proj" / "tasks.py").read_text()
