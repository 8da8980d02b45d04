"""Pass 1: which declarations are tasks, their names, options and signatures."""

from __future__ import annotations

from textwrap import dedent

import pytest

from codemods.index import index_source
from codemods.linking import build_index
from codemods.model import Signature, TaskIndex

APP = "from celery import Celery\napp = Celery('proj')\n"


def index_one(source: str, module: str = "proj.tasks") -> TaskIndex:
    return build_index([index_source(dedent(source), path="proj/tasks.py", module=module)])


def summary(index: TaskIndex) -> dict[str, dict[str, object]]:
    return {name: dict(task.options) for name, task in index.tasks.items()}


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        pytest.param(APP + "@app.task\ndef add(): pass\n", {"proj.tasks.add": {}}, id="@app.task"),
        pytest.param(
            APP + "@app.task()\ndef add(): pass\n", {"proj.tasks.add": {}}, id="@app.task()"
        ),
        pytest.param(
            APP
            + "@app.task(ignore_result=True, queue='q', priority=-1, expires=1.5)\ndef add(): pass\n",
            {
                "proj.tasks.add": {
                    "ignore_result": True,
                    "queue": "q",
                    "priority": -1,
                    "expires": 1.5,
                }
            },
            id="literal options",
        ),
        pytest.param(
            "from celery import shared_task\n@shared_task\ndef add(): pass\n",
            {"proj.tasks.add": {}},
            id="@shared_task",
        ),
        pytest.param(
            "from celery import shared_task\n@shared_task(name='x.y', acks_late=True)\ndef add(): pass\n",
            {"x.y": {"acks_late": True}},
            id="shared_task with name=",
        ),
        pytest.param(
            "import celery\n@celery.shared_task(serializer='pickle')\ndef add(): pass\n",
            {"proj.tasks.add": {"serializer": "pickle"}},
            id="@celery.shared_task",
        ),
        pytest.param(
            "from celery import shared_task as st\n@st(queue='q')\ndef add(): pass\n",
            {"proj.tasks.add": {"queue": "q"}},
            id="aliased shared_task",
        ),
        pytest.param(
            "import celery\ncelery_app = celery.Celery()\n@celery_app.task\ndef add(): pass\n",
            {"proj.tasks.add": {}},
            id="celery.Celery() named celery_app",
        ),
        pytest.param(
            "from celery import Celery as C\nworker = C()\n@worker.task(queue='w')\ndef add(): pass\n",
            {"proj.tasks.add": {"queue": "w"}},
            id="aliased Celery class, any app name",
        ),
        pytest.param(
            APP
            + "FAST = 'fast'\nN: int = 3\n@app.task(queue=FAST, priority=N, name=NAME)\ndef add(): pass\nNAME = 'named'\n",
            {"named": {"queue": "fast", "priority": 3}},
            id="module constants",
        ),
        pytest.param(
            APP + "@other.decorator\n@app.task(queue='q')\ndef add(): pass\n",
            {"proj.tasks.add": {"queue": "q"}},
            id="stacked decorators",
        ),
        pytest.param(
            APP + "@app.task\nasync def add(): pass\n",
            {"proj.tasks.add": {}},
            id="async def",
        ),
    ],
)
def test_declaration_forms(source: str, expected: dict[str, dict[str, object]]) -> None:
    assert summary(index_one(source)) == expected


@pytest.mark.parametrize(
    "source",
    [
        pytest.param("from invoke import task\n@task\ndef deploy(c): pass\n", id="invoke"),
        pytest.param(
            "from fabric import task\n@task(hosts=['a'])\ndef deploy(c): pass\n", id="fabric"
        ),
        pytest.param(
            "import locust\nclass U(locust.HttpUser):\n    @locust.task(3)\n    def index(self): pass\n",
            id="locust",
        ),
        pytest.param("from prefect import task\n@task(retries=3)\ndef etl(): pass\n", id="prefect"),
        pytest.param(
            "from celery import Celery\n@task\ndef f(): pass\n", id="bare task from nowhere"
        ),
        pytest.param(
            "from flask import Flask\napp = Flask(__name__)\n@app.task\ndef f(): pass\n",
            id="not a Celery app",
        ),
    ],
)
def test_not_celery_tasks(source: str) -> None:
    assert summary(index_one(source)) == {}


def test_constants_are_not_used_where_shadowed_and_the_last_binding_wins() -> None:
    index = index_one(
        APP
        + dedent(
            """
            Q = "module"
            R = "first"
            R = "second"

            def factory(Q):
                @app.task(queue=Q)
                def inner(): pass

            @app.task(queue=R)
            def outer(): pass
            """
        )
    )
    assert index.tasks["proj.tasks.inner"].unresolved_options == ("queue",)
    assert dict(index.tasks["proj.tasks.outer"].options) == {"queue": "second"}


def test_non_literal_options_are_recorded_as_unresolved() -> None:
    index = index_one(
        APP + "@app.task(expires=timedelta(hours=1), queue='q', **COMMON)\ndef f(): pass\n"
    )
    task = index.tasks["proj.tasks.f"]
    assert dict(task.options) == {"queue": "q"}
    assert sorted(task.unresolved_options) == ["**COMMON", "expires"]


@pytest.mark.parametrize(
    ("source", "signature"),
    [
        ("def f(x, y=1): pass", Signature(("x", "y"), 1, False, (), False)),
        ("def f(*args, **kwargs): pass", Signature((), 0, True, (), True)),
        (
            "def f(a, /, b, *, c, d=1): pass",
            Signature(("a", "b"), 2, False, ("c", "d"), False, 1, ("c",)),
        ),
    ],
)
def test_signatures(source: str, signature: Signature) -> None:
    index = index_one(APP + "@app.task\n" + source + "\n")
    assert index.tasks["proj.tasks.f"].signature == signature


def test_bind_drops_self() -> None:
    index = index_one(APP + "@app.task(bind=True)\ndef f(self, x, /, y=2): pass\n")
    assert index.tasks["proj.tasks.f"].signature == Signature(("x", "y"), 1, False, (), False, 1)


def test_app_imported_from_another_module_and_reexported() -> None:
    celery_module = index_source(APP, path="proj/celery.py", module="proj.celery")
    package = index_source(
        "from .celery import app as celery_app\n",
        path="proj/__init__.py",
        module="proj",
        is_package=True,
    )
    tasks = index_source(
        "from proj import celery_app\n@celery_app.task(queue='q')\ndef add(): pass\n",
        path="proj/tasks.py",
        module="proj.tasks",
    )
    assert summary(build_index([celery_module, package, tasks])) == {
        "proj.tasks.add": {"queue": "q"}
    }


def test_app_from_an_unindexed_project_module_is_reported() -> None:
    tasks = index_source(
        "from proj.celery import app\n@app.task\ndef add(): pass\n",
        path="proj/tasks.py",
        module="proj.tasks",
    )
    index = build_index([tasks])
    assert index.tasks == {}
    assert [(d.code, d.line) for d in index.diagnostics] == [("unresolved-app", 2)]


def test_duplicate_names_with_other_options_conflict() -> None:
    first = index_source(
        APP + "@app.task(name='x', queue='a')\ndef f(): pass\n", path="a.py", module="a"
    )
    second = index_source(
        APP + "@app.task(name='x', queue='b')\ndef g(): pass\n", path="b.py", module="b"
    )
    same = index_source(
        APP + "@app.task(name='x', queue='a')\ndef h(): pass\n", path="c.py", module="c"
    )
    index = build_index([first, second, same])
    assert index.conflicts == {"x"}
    assert [(d.path, d.code) for d in index.diagnostics] == [("b.py", "duplicate-task")]
    assert build_index([first, same]).conflicts == frozenset()


def test_declaration_line_is_the_decorator_line() -> None:
    index = index_one(APP + "\n\n@app.task(\n    queue='q',\n)\ndef f(): pass\n")
    assert index.tasks["proj.tasks.f"].line == 5
