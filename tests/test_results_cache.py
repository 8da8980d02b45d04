"""`results` over a cache that `fix` filled reads what each module does with results again."""

from __future__ import annotations

import json
from pathlib import Path
from textwrap import dedent

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
