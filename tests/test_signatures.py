"""argument-mismatch only when the task's signature is certain: no decorator between the task
decorator and the `def`, `bind` known (from the decorator, a wrapper, a constant or a `**` dict)."""

from __future__ import annotations

import pytest

from codemods.model import Signature
from codemods.plan import argument_problems
from codemods.rewrite import rewrite_source
from tests.tools import index_modules

APP = "import functools\nfrom celery import Celery\napp = Celery('proj')\n"
WITH_SESSION = """
def with_session(fn):
    @functools.wraps(fn)
    def inner(*args, **kwargs):
        return fn(object(), *args, **kwargs)
    return inner
"""


def mismatches(declaration: str, call: str) -> list[str]:
    index, symbols = index_modules({"proj.celery": APP + WITH_SESSION + declaration})
    result = rewrite_source(
        f"from proj.celery import app\n{call}\n",
        index,
        path="producer.py",
        module="producer",
        symbols=symbols,
    )
    return [d.message for d in result.diagnostics if d.code == "argument-mismatch"]


@pytest.mark.parametrize(
    "declaration",
    [
        pytest.param(
            "@app.task(queue='q')\n@with_session\ndef t(session, item_id): pass\n",
            id="a decorator between @task and def",
        ),
        pytest.param(
            "bound = functools.partial(app.task, bind=True)\n"
            "@bound(queue='q')\ndef t(self, item_id): pass\n",
            id="bind=True from partial(app.task)",
        ),
        pytest.param(
            "bound = app.task(bind=True, queue='q')\n@bound\ndef t(self, item_id): pass\n",
            id="bind=True from name = app.task(...)",
        ),
        pytest.param(
            "BIND = True\n@app.task(bind=BIND, queue='q')\ndef t(self, item_id): pass\n",
            id="bind=CONSTANT",
        ),
        pytest.param(
            "COMMON = {'bind': True, 'queue': 'q'}\n@app.task(**COMMON)\ndef t(self, item_id): pass\n",
            id="bind in **COMMON",
        ),
        pytest.param(
            "@app.task(bind=is_bound(), queue='q')\ndef t(self, item_id): pass\n",
            id="bind unknown",
        ),
        pytest.param(
            "@app.task(queue='q', **options())\ndef t(self, item_id): pass\n",
            id="an unreadable ** dict may bind",
        ),
    ],
)
def test_no_error_when_the_signature_is_not_certain(declaration: str) -> None:
    assert mismatches(declaration, "app.send_task('proj.celery.t', args=[42])") == []


def test_a_positional_only_parameter_name_goes_to_kwargs() -> None:
    declaration = "@app.task(queue='q')\ndef t(a, /, b, **kw): pass\n"
    call = "app.send_task('proj.celery.t', args=[1, 2], kwargs={'a': 9})"
    assert mismatches(declaration, call) == []


@pytest.mark.parametrize(
    ("declaration", "call", "problem"),
    [
        pytest.param(
            "@app.task(bind=True)\ndef t(self, item_id): pass\n",
            "app.send_task('proj.celery.t', args=[1, 2])",
            "2 positional arguments given, the task takes at most 1",
            id="literal bind=True",
        ),
        pytest.param(
            "bound = functools.partial(app.task, bind=True)\n@bound()\ndef t(self, item_id): pass\n",
            "app.send_task('proj.celery.t', args=[1, 2])",
            "2 positional arguments given, the task takes at most 1",
            id="bind=True from a wrapper",
        ),
        pytest.param(
            "@with_session\n@app.task\ndef t(item_id): pass\n",
            "app.send_task('proj.celery.t', args=[1, 2])",
            "2 positional arguments given, the task takes at most 1",
            id="a decorator above @task does not change the task",
        ),
        pytest.param(
            "@app.task\ndef t(a, /): pass\n",
            "app.send_task('proj.celery.t', kwargs={'a': 1})",
            "unexpected keyword argument 'a' | missing required argument 'a'",
            id="a positional-only name without **kw",
        ),
    ],
)
def test_errors_where_the_signature_is_certain(declaration: str, call: str, problem: str) -> None:
    expected = [f"task 'proj.celery.t': {p}" for p in problem.split(" | ")]
    assert mismatches(declaration, call) == expected


def test_positional_only_parameters_are_not_covered_by_kwargs() -> None:
    signature = Signature(("a", "b"), 2, False, (), True, positional_only=1)
    assert argument_problems(signature, 1, ("b",)) == []
    assert argument_problems(signature, 0, ("a", "b")) == ["missing required argument 'a'"]
    assert argument_problems(signature, 2, ("a",)) == []
