"""An app made by a project function (`app = create_application()`) is a Celery app, with the
settings the function makes on it; a task whose module cannot be parsed is named as such."""

from __future__ import annotations

import json
from pathlib import Path
from textwrap import dedent

from tests.conftest import run_cli

PRODUCER = 'from proj.worker import app\n\napp.send_task("proj.tasks.build", args=[1])\n'
TASKS = dedent(
    """
    from proj.worker import app

    @app.task(queue="builds")
    def build(pk):
        return pk
    """
)


def project(root: Path, worker: str, tasks: str = TASKS) -> Path:
    (root / "proj").mkdir(parents=True)
    (root / "proj" / "__init__.py").write_text("")
    (root / "proj" / "worker.py").write_text(dedent(worker))
    (root / "proj" / "tasks.py").write_text(tasks)
    (root / "proj" / "producer.py").write_text(PRODUCER)
    return root


def fix_json(root: Path, in_dir) -> dict:  # type: ignore[type-arg]
    in_dir(root)
    return json.loads(run_cli("fix", "--check", "--no-cache", "--format", "json", ".").stdout)


def added(document: dict) -> dict:  # type: ignore[type-arg]
    (change,) = document["changes"]
    return change["added"]


FACTORY = """
    from celery import Celery

    def create_application():
        application = Celery("proj")
        application.config_from_object("django.conf:settings", namespace="CELERY")
        application.conf.task_serializer = "pickle"
        return application

    app = create_application()
"""


def test_an_app_made_by_a_factory_function_indexes_its_tasks(tmp_path: Path, in_dir) -> None:
    document = fix_json(project(tmp_path, FACTORY), in_dir)
    assert document["summary"]["tasks_indexed"] == 1
    assert "unresolved-app" not in {d["code"] for d in document["diagnostics"]}
    assert added(document) == {"queue": "builds", "serializer": "pickle"}


def test_a_factory_imported_from_another_module(tmp_path: Path, in_dir) -> None:
    worker = """
        from proj.factory import create_application

        app = create_application()
        app.autodiscover_tasks()
    """
    root = project(tmp_path, worker)
    (root / "proj" / "factory.py").write_text(
        dedent(FACTORY).replace("app = create_application()", "")
    )
    document = fix_json(root, in_dir)
    assert added(document) == {"queue": "builds", "serializer": "pickle"}


def test_a_setting_made_from_the_function_s_own_values_is_not_copied(
    tmp_path: Path, in_dir
) -> None:
    worker = """
        from celery import Celery

        serializer = "json"

        def create_application(serializer):
            application = Celery("proj")
            application.conf.task_serializer = serializer
            return application

        app = create_application("pickle")
    """
    assert added(fix_json(project(tmp_path, worker), in_dir)) == {"queue": "builds"}


def test_a_function_that_may_return_something_else_is_not_a_factory(tmp_path: Path, in_dir) -> None:
    worker = """
        from celery import Celery

        def create_application(test):
            if test:
                return None
            application = Celery("proj")
            return application

        app = create_application(False)
    """
    document = fix_json(project(tmp_path, worker), in_dir)
    assert document["summary"]["tasks_indexed"] == 0
    assert "unresolved-app" in {d["code"] for d in document["diagnostics"]}


def test_an_unknown_task_whose_module_cannot_be_parsed_says_so(tmp_path: Path, in_dir) -> None:
    broken = TASKS + "\ntry:\n    pass\nexcept ValueError, TypeError:\n    pass\n"
    document = fix_json(project(tmp_path, FACTORY, tasks=broken), in_dir)
    (unknown,) = [d for d in document["diagnostics"] if d["code"] == "unknown-task"]
    assert "its module proj.tasks (proj/tasks.py) could not be parsed" in unknown["message"]


def test_an_app_module_without_a_hint_is_read_when_a_task_names_its_app(
    tmp_path: Path, in_dir
) -> None:
    """`app = create_application()` alone: nothing in the file says Celery or task."""
    root = project(
        tmp_path, "from proj.factory import create_application\n\napp = create_application()\n"
    )
    (root / "proj" / "factory.py").write_text(
        dedent(FACTORY).replace("app = create_application()", "")
    )
    document = fix_json(root, in_dir)
    assert document["summary"]["tasks_indexed"] == 1
    assert added(document) == {"queue": "builds", "serializer": "pickle"}
