"""A project's own `send_task` method is not Celery's: calls to it are left alone
(`not-celery-send-task`), since a keyword it does not list raises TypeError at run time."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from textwrap import dedent

import pytest

from tests.conftest import run_cli

WORKER = """\
    from celery import Celery

    app = Celery("proj")


    @app.task(queue="billing", ignore_result=True)
    def charge(account_id):
        pass
"""
CLIENT = """\
    from proj.celery import app


    class TaskClient:
        \"\"\"Our audited gateway to Celery: only these parameters are allowed.\"\"\"

        def send_task(self, name, args=(), countdown=None):
            return app.send_task(name, args=args, countdown=countdown)

        def charge_later(self, account_id):
            self.send_task("proj.celery.charge", args=[account_id])


    client = TaskClient()
"""


def project(root: Path, producer: str, client: str = CLIENT) -> Path:
    (root / "proj").mkdir(parents=True)
    (root / "proj" / "__init__.py").write_text("")
    (root / "proj" / "celery.py").write_text(dedent(WORKER))
    (root / "client.py").write_text(dedent(client))
    (root / "producer.py").write_text(dedent(producer))
    return root


def fix_json(root: Path) -> dict[str, list[dict[str, object]]]:
    result = run_cli("fix", "--format", "json", root)
    assert result.exit_code == 0, result.stderr
    document: dict[str, list[dict[str, object]]] = json.loads(result.stdout)
    return document


def changed_lines(document: dict[str, list[dict[str, object]]], path: str) -> list[object]:
    return [c["line"] for c in document["changes"] if c["path"] == path]


def left_alone(document: dict[str, list[dict[str, object]]], path: str) -> list[object]:
    return [
        d["line"]
        for d in document["diagnostics"]
        if d["path"] == path and d["code"] == "not-celery-send-task"
    ]


def test_calls_of_the_projects_method_are_left_alone_and_still_run(tmp_path: Path, in_dir) -> None:
    root = project(
        tmp_path,
        """\
        from client import TaskClient, client


        def one(account_id):
            client.send_task("proj.celery.charge", args=[account_id])


        def two(account_id):
            local = TaskClient()
            local.send_task("proj.celery.charge", args=[account_id])


        def three(account_id):
            TaskClient().send_task("proj.celery.charge", args=[account_id])


        class Billing:
            def __init__(self):
                self.tasks = TaskClient()

            def charge(self, account_id):
                self.tasks.send_task("proj.celery.charge", args=[account_id])
        """,
    )
    in_dir(root)
    document = fix_json(Path("."))
    assert document["changes"] == []
    assert left_alone(document, "producer.py") == [5, 10, 14, 22]
    assert left_alone(document, "client.py") == [11]  # self.send_task in the class itself
    assert run_cli("fix", "--write", ".").exit_code == 0
    run = (
        "import client, producer\n"
        "client.app.send_task = lambda *a, **k: None\n"
        "producer.one(1); producer.two(1); producer.three(1); producer.Billing().charge(1)\n"
    )
    subprocess.run([sys.executable, "-c", run], cwd=root, check=True)  # no TypeError


def test_doubt_leaves_a_call_alone_only_when_the_tree_has_such_a_class(
    tmp_path: Path, in_dir
) -> None:
    producer = """\
        from celery import current_app, shared_task
        from proj.celery import app


        def unknown(sender, account_id):
            sender.send_task("proj.celery.charge", args=[account_id])


        def known(account_id):
            app.send_task("proj.celery.charge", args=[account_id])
            current_app.send_task("proj.celery.charge", args=[account_id])


        @shared_task(bind=True)
        def bound(self, account_id):
            self.app.send_task("proj.celery.charge", args=[account_id])
        """
    root = project(tmp_path / "with", producer)
    in_dir(root)
    document = fix_json(Path("."))
    assert left_alone(document, "producer.py") == [6]
    assert changed_lines(document, "producer.py") == [10, 11, 16]
    plain = project(tmp_path / "without", producer, client="x = 1\n")
    in_dir(plain)
    document = fix_json(Path("."))
    assert left_alone(document, "producer.py") == []
    assert changed_lines(document, "producer.py") == [6, 10, 11, 16]


@pytest.mark.parametrize(
    ("method", "edited"),
    [
        pytest.param("def send_task(self, name, args=None, kwargs=None, **options):", True,
                     id="Celery subclass with **kwargs"),
        pytest.param("def send_task(self, name, args=None):", False,
                     id="Celery subclass without **kwargs"),
    ],
)  # fmt: skip
def test_celery_subclass_overriding_send_task(
    tmp_path: Path, in_dir, method: str, edited: bool
) -> None:
    worker = f"""\
        from celery import Celery


        class Application(Celery):
            {method}
                return super().send_task(name, args)


        app = Application("proj")


        @app.task(queue="billing")
        def charge(account_id):
            pass
        """
    (tmp_path / "proj").mkdir()
    (tmp_path / "proj" / "__init__.py").write_text("")
    (tmp_path / "proj" / "worker.py").write_text(dedent(worker))
    (tmp_path / "producer.py").write_text(
        "from proj.worker import app\napp.send_task('proj.worker.charge', args=[1])\n"
    )
    in_dir(tmp_path)
    document = fix_json(Path("."))
    assert bool(changed_lines(document, "producer.py")) is edited
    assert bool(left_alone(document, "producer.py")) is not edited


def test_a_wrapper_that_passes_keywords_on_is_edited(tmp_path: Path, in_dir) -> None:
    client = """\
        from proj.celery import app


        class TaskClient:
            def send_task(self, name, *args, **kwargs):
                return app.send_task(name, *args, **kwargs)


        client = TaskClient()
        """
    root = project(tmp_path, "from client import client\nclient.send_task('proj.celery.charge')\n",
                   client=client)  # fmt: skip
    in_dir(root)
    assert changed_lines(fix_json(Path(".")), "producer.py") == [2]
