"""Generated task names only where Celery's own rule makes them: an app that names tasks itself
(`gen_task_name`) gets no wrong names in the index, and says so (`custom-task-names`)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from textwrap import dedent

import pytest

from tests.conftest import run_cli

TASKS = """\

    @app.task(queue="q")
    def generated():
        pass


    @app.task(name="explicit.name", queue="q")
    def explicit():
        pass
"""
SUBCLASS = """\
    from celery import Celery


    class MyCelery(Celery):
        def gen_task_name(self, name, module):
            return "svc." + name


    app = MyCelery("proj")
"""
ASSIGNED = """\
    from celery import Celery

    app = Celery("proj")
    app.gen_task_name = lambda name, module: "svc." + name
"""
SHARED = """\

    from celery import shared_task


    @shared_task(queue="q")
    def shared():
        pass
"""


def index(root: Path) -> tuple[list[str], list[dict[str, object]]]:
    result = run_cli("fix", "--format", "json", root)
    diagnostics = json.loads(result.stdout)["diagnostics"]
    listed = run_cli("index", root)
    return sorted(t["name"] for t in json.loads(listed.stdout)["tasks"]), diagnostics


def live_names(root: Path, module: str) -> list[str]:
    code = (
        f"import {module} as m\n"
        "print(sorted(n for n in m.app.tasks if not n.startswith('celery.')))\n"
    )
    completed = subprocess.run(
        [sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=True
    )
    return list(json.loads(completed.stdout.replace("'", '"')))


@pytest.mark.parametrize("app", [SUBCLASS, ASSIGNED], ids=["subclass", "assigned"])
def test_an_app_that_names_tasks_itself(tmp_path: Path, in_dir, app: str) -> None:
    (tmp_path / "proj").mkdir()
    (tmp_path / "proj" / "__init__.py").write_text("")
    (tmp_path / "proj" / "worker.py").write_text(dedent(app) + dedent(TASKS) + dedent(SHARED))
    in_dir(tmp_path)
    # Celery calls the override: the default "proj.worker.generated" would be wrong.
    assert live_names(tmp_path, "proj.worker") == ["explicit.name", "svc.generated", "svc.shared"]
    names, diagnostics = index(Path("."))
    assert names == ["explicit.name"]
    custom = [(d["line"], d["severity"]) for d in diagnostics if d["code"] == "custom-task-names"]
    assert [severity for _, severity in custom] == ["info", "info"]


def test_a_celery_subclass_is_an_app_whatever_its_name(tmp_path: Path, in_dir) -> None:
    app = """\
        import celery


        class Application(celery.Celery):
            pass


        app = Application("proj")
        """
    (tmp_path / "proj").mkdir()
    (tmp_path / "proj" / "__init__.py").write_text("")
    (tmp_path / "proj" / "worker.py").write_text(dedent(app) + dedent(TASKS))
    in_dir(tmp_path)
    assert live_names(tmp_path, "proj.worker") == ["explicit.name", "proj.worker.generated"]
    assert index(Path("."))[0] == ["explicit.name", "proj.worker.generated"]


def test_a_call_to_a_task_the_index_could_not_name_says_where_it_is(tmp_path: Path, in_dir) -> None:
    in_dir(tmp_path)
    proj = tmp_path / "proj"
    proj.mkdir()
    (proj / "__init__.py").write_text("")
    (proj / "tasks.py").write_text(dedent(SUBCLASS) + dedent(TASKS))
    (proj / "producer.py").write_text(
        'from proj.tasks import app\n\napp.send_task("generated")\napp.send_task("missing")\n'
    )
    result = run_cli("fix", "--format", "json", ".")
    unknown = {
        d["line"]: d["message"]
        for d in json.loads(result.stdout)["diagnostics"]
        if d["code"] == "unknown-task"
    }
    declared = dedent(SUBCLASS + TASKS).splitlines().index('@app.task(queue="q")') + 1
    assert unknown == {
        3: "no indexed task named 'generated'; a function of that name declared at "
        f"proj/tasks.py:{declared} is not indexed (custom-task-names)",
        4: "no task named 'missing'",
    }
