"""A project decorator that wraps another library's `task` (invoke's) is not a Celery task
decorator: its functions are no tasks, and nothing says the index cannot follow them."""

from __future__ import annotations

import json
from pathlib import Path
from textwrap import dedent

from tests.conftest import run_cli

WRAPPER = """
    import invoke
    from proj.celery import app

    def task(*args, **kwargs):
        if len(args) == 1 and callable(args[0]):
            return {inner}.task(args[0])
        def decorator(f):
            return {inner}.task(f, *args, **kwargs)
        return decorator

    @task
    def server(ctx):
        pass
"""


def codes(tmp_path: Path, in_dir, inner: str) -> list[str]:
    (tmp_path / "proj").mkdir()
    (tmp_path / "proj" / "__init__.py").write_text("")
    (tmp_path / "proj" / "celery.py").write_text("from celery import Celery\napp = Celery('p')\n")
    (tmp_path / "proj" / "tasks.py").write_text(dedent(WRAPPER.format(inner=inner)))
    in_dir(tmp_path)
    document = json.loads(run_cli("fix", "--check", "--no-cache", "--format", "json", ".").stdout)
    return [d["code"] for d in document["diagnostics"]]


def test_a_wrapper_of_another_library_s_task_is_not_reported(tmp_path: Path, in_dir) -> None:
    assert "unresolved-decorator" not in codes(tmp_path, in_dir, "invoke")


def test_the_same_wrapper_of_the_app_s_task_is_reported(tmp_path: Path, in_dir) -> None:
    assert codes(tmp_path, in_dir, "app").count("unresolved-decorator") == 1
