"""Calls in test code are left alone: tests mock `send_task` and assert the exact arguments, call
tasks with wrong arguments on purpose, and use made-up names; one info diagnostic says so."""

from __future__ import annotations

from textwrap import dedent

import pytest

from codemods.rewrite import rewrite_source
from tests.tools import make_index

INDEX = make_index(
    """\
    from celery import Celery

    app = Celery("proj")

    @app.task(ignore_result=True, queue="q")
    def add(x, y):
        pass
    """
)
MOCKED = """\
    from unittest import mock

    from proj.celery import app


    @mock.patch("celery.app.base.Celery.send_task")
    def test_send(send_task):
        app.send_task("proj.tasks.add", countdown=10)
        send_task.assert_called_with("proj.tasks.add", countdown=10)
        app.send_task("made.up.name")
"""


@pytest.mark.parametrize(
    "path", ["tests/test_beat.py", "t/unit/test_app.py", "proj/tests/helpers.py", "conftest.py"]
)
def test_calls_in_test_files_are_neither_edited_nor_checked(path: str) -> None:
    result = rewrite_source(dedent(MOCKED), INDEX, path=path, module="tests.test_beat")
    assert result.new_source is None
    assert [(d.line, d.code, d.severity.value) for d in result.diagnostics] == [
        (8, "test-file", "info")
    ]
    assert "2 task call(s)" in result.diagnostics[0].message


def test_the_same_calls_outside_tests_are_edited_and_checked() -> None:
    result = rewrite_source(dedent(MOCKED), INDEX, path="proj/jobs.py", module="proj.jobs")
    assert result.new_source is not None
    assert 'countdown=10, ignore_result=True, queue="q")' in result.new_source
    assert {(d.line, d.code) for d in result.diagnostics} == {
        (8, "argument-mismatch"),
        (10, "unknown-task"),
    }
