"""The declaration and call forms of real codebases (index across modules, calls of every kind)."""

from __future__ import annotations

from textwrap import dedent

import pytest

from codemods.rewrite import rewrite_source
from tests.tools import index_modules, task_options

APP = """
from celery import Celery
app = Celery("proj")
"""


def rewrite(
    modules: dict[str, str], producer: str, **kwargs: object
) -> tuple[str, list[tuple[int, str]]]:
    index, symbols = index_modules(modules)
    result = rewrite_source(
        dedent(producer),
        index,
        path="producer.py",
        module="producer",
        symbols=symbols,
        **kwargs,  # type: ignore[arg-type]
    )
    assert "unsafe-rewrite" not in [d.code for d in result.diagnostics]
    again = rewrite_source(
        result.new_source or dedent(producer),
        index,
        path="producer.py",
        module="producer",
        symbols=symbols,
    )
    assert again.new_source is None, "idempotent"
    return result.new_source or dedent(producer), [(d.line, d.code) for d in result.diagnostics]


# -- names and values from constants --------------------------------------------------------------

CONSTANTS = """
from enum import Enum, StrEnum

class CeleryTask:
    EVAL_RUN = "eval_run"

class TaskName(str, Enum):
    cleanup = "proj.cleanup"

class Modern(StrEnum):
    sync = "proj.sync"

class Plain(Enum):
    FAST = "fast"

PREFIX = "proj"
F_NAME = f"{PREFIX}.f"
PLUS_NAME = PREFIX + ".plus"
"""


@pytest.mark.parametrize(
    ("expression", "name"),
    [
        pytest.param("CeleryTask.EVAL_RUN", "eval_run", id="class attribute"),
        pytest.param("TaskName.cleanup.value", "proj.cleanup", id="str-Enum .value"),
        pytest.param("TaskName.cleanup", "proj.cleanup", id="str-Enum member"),
        pytest.param("Modern.sync", "proj.sync", id="StrEnum member"),
        pytest.param("F_NAME", "proj.f", id="f-string of constants"),
        pytest.param("PLUS_NAME", "proj.plus", id="+ of constants"),
        pytest.param('f"{PREFIX}.inline"', "proj.inline", id="f-string in the decorator"),
    ],
)
def test_task_names_from_imported_constants(expression: str, name: str) -> None:
    index, _ = index_modules(
        {
            "proj.constants": CONSTANTS,
            "proj.tasks": APP
            + "from proj.constants import CeleryTask, TaskName, Modern, F_NAME, PLUS_NAME, PREFIX\n"
            + f"@app.task(name={expression}, queue='q')\ndef t(): pass\n",
        }
    )
    assert task_options(index) == {name: {"queue": "q"}}


def test_plain_enum_member_is_not_a_string_but_its_value_is() -> None:
    index, _ = index_modules(
        {
            "proj.constants": CONSTANTS,
            "proj.tasks": APP
            + "from proj.constants import Plain\n"
            + "@app.task(queue=Plain.FAST)\ndef a(): pass\n"
            + "@app.task(queue=Plain.FAST.value)\ndef b(): pass\n",
        }
    )
    assert index.tasks["proj.tasks.a"].unresolved_options == ("queue",)
    assert task_options(index)["proj.tasks.b"] == {"queue": "fast"}


@pytest.mark.parametrize(
    "import_line",
    [
        pytest.param("from proj.constants import CeleryTask", id="direct"),
        pytest.param("from proj import CeleryTask", id="re-exported through __init__"),
        pytest.param("from proj.names import CeleryTask", id="from x import *"),
        pytest.param("import proj.constants as c\nCeleryTask = c.CeleryTask", id="module alias"),
    ],
)
def test_constants_followed_through_imports(import_line: str) -> None:
    modules = {
        "proj.__init__": "from .constants import CeleryTask\n",
        "proj.constants": CONSTANTS,
        "proj.names": "from proj.constants import *\n",
        "proj.tasks": APP + "from proj.constants import CeleryTask\n"
        "@app.task(name=CeleryTask.EVAL_RUN, ignore_result=True)\ndef t(): pass\n",
    }
    after, codes = rewrite(modules, f"{import_line}\napp.send_task(CeleryTask.EVAL_RUN)\n")
    assert after.endswith("app.send_task(CeleryTask.EVAL_RUN, ignore_result=True)\n")
    assert codes == []


def test_option_values_from_imported_constants() -> None:
    index, _ = index_modules(
        {
            "proj.settings": "FAST = 'fast'\nclass Priorities:\n    HIGH = 9\n",
            "proj.tasks": APP + "from proj.settings import FAST, Priorities\n"
            "@app.task(queue=FAST, priority=Priorities.HIGH)\ndef t(): pass\n",
        }
    )
    assert task_options(index) == {"proj.tasks.t": {"queue": "fast", "priority": 9}}


# -- class-based tasks, bases, the app-wide base -----------------------------------------------


@pytest.mark.parametrize(
    "registration",
    ["app.register_task(Report())", "app.tasks.register(Report())", "app.register_task(Report)"],
)
def test_class_based_tasks(registration: str) -> None:
    index, _ = index_modules(
        {
            "proj.tasks": APP
            + dedent(
                f"""
                class Report(app.Task):
                    name = "reports.build"
                    queue = "reports"
                    ignore_result = True
                    max_retries = 3

                    def run(self, report_id, fmt="pdf"):
                        pass

                {registration}
                """
            )
        }
    )
    task = index.tasks["reports.build"]
    assert dict(task.options) == {"queue": "reports", "ignore_result": True, "max_retries": 3}
    assert task.signature is not None and task.signature.positional == ("report_id", "fmt")
    assert task.line == 5  # the class line


def test_class_based_task_without_name_gets_module_and_class_name() -> None:
    index, _ = index_modules(
        {
            "proj.tasks": APP
            + "from celery import Task\nclass Cleanup(Task):\n    queue = 'c'\n    def run(self): pass\n"
            "app.register_task(Cleanup())\n"
        }
    )
    assert task_options(index) == {"proj.tasks.Cleanup": {"queue": "c"}}


def test_unregistered_task_classes_are_not_tasks() -> None:
    index, _ = index_modules({"proj.tasks": APP + "class Base(app.Task):\n    queue = 'q'\n"})
    assert task_options(index) == {}


def test_options_inherited_from_base_classes() -> None:
    index, _ = index_modules(
        {
            "proj.base": "from celery import Task\n"
            "class Quiet(Task):\n    ignore_result = True\n    serializer = 'msgpack'\n"
            "class Urgent(Quiet):\n    priority = 9\n    serializer = 'json'\n    custom = 'x'\n",
            "proj.tasks": APP + "from proj.base import Urgent\n"
            "@app.task(base=Urgent, queue='q')\ndef t(): pass\n",
        }
    )
    assert task_options(index) == {
        "proj.tasks.t": {"ignore_result": True, "serializer": "json", "priority": 9, "queue": "q"}
    }


@pytest.mark.parametrize(
    "app_setup",
    [
        pytest.param("app = Celery('proj', task_cls=Quiet)", id="task_cls=Class"),
        pytest.param(
            "app = Celery('proj', task_cls='proj.tasks:Quiet')", id="task_cls='mod:Class'"
        ),
        pytest.param("app = Celery('proj')\napp.Task = Quiet", id="app.Task = Class"),
    ],
)
def test_app_wide_base(app_setup: str) -> None:
    source = (
        "from celery import Celery, Task\n"
        "class Quiet(Task):\n    ignore_result = True\n"
        f"{app_setup}\n"
        "@app.task\ndef t(): pass\n"
        "@app.task(ignore_result=False)\ndef loud(): pass\n"
        "class Other(Task):\n    queue = 'o'\n"
        "@app.task(base=Other)\ndef own_base(): pass\n"
    )
    index, _ = index_modules({"proj.tasks": source})
    assert task_options(index) == {
        "proj.tasks.t": {"ignore_result": True},
        "proj.tasks.loud": {"ignore_result": False},
        "proj.tasks.own_base": {"queue": "o"},  # base= replaces the app's task_cls
    }


# -- worker settings -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "modules",
    [
        pytest.param(
            {"proj.celery": APP + "app.conf.task_ignore_result = True\n"}, id="app.conf.x ="
        ),
        pytest.param(
            {"proj.celery": APP + "app.conf.update(task_ignore_result=True)\n"},
            id="conf.update(x=)",
        ),
        pytest.param(
            {"proj.celery": APP + "app.conf.update({'task_ignore_result': True})\n"},
            id="conf.update({...})",
        ),
        pytest.param(
            {
                "proj.celery": "from celery import Celery\napp = Celery('proj', task_ignore_result=True)\n"
            },
            id="Celery(x=)",
        ),
        pytest.param(
            {
                "proj.celery": APP + "app.config_from_object('proj.celeryconfig')\n",
                "proj.celeryconfig": "task_ignore_result = True\n",
            },
            id="config module",
        ),
        pytest.param(
            {
                "proj.celery": "import os\nos.environ.setdefault('DJANGO_SETTINGS_MODULE', 'proj.settings')\n"
                + APP
                + "app.config_from_object('django.conf:settings', namespace='CELERY')\n",
                "proj.settings": "DEBUG = False\nCELERY_TASK_IGNORE_RESULT = True\n",
            },
            id="Django settings with the CELERY namespace",
        ),
    ],
)
def test_worker_settings_change_declarations(modules: dict[str, str]) -> None:
    modules = {
        **modules,
        "proj.tasks": "from proj.celery import app\n"
        "@app.task\ndef quiet(): pass\n"
        "@app.task(ignore_result=False)\ndef loud(): pass\n",
    }
    index, _ = index_modules(modules)
    assert task_options(index) == {
        "proj.tasks.quiet": {"ignore_result": True},
        "proj.tasks.loud": {"ignore_result": False},
    }


def test_worker_settings_equal_to_celery_defaults_are_not_copied() -> None:
    index, _ = index_modules(
        {
            "proj.celery": APP
            + "app.conf.update(task_serializer='json', task_ignore_result=False)\n"
            "@app.task\ndef t(): pass\n"
        }
    )
    assert task_options(index) == {"proj.celery.t": {}}


def test_worker_setting_override_for_what_the_code_does_not_show() -> None:
    index, _ = index_modules(
        {"proj.tasks": APP + "@app.task\ndef t(): pass\n"},
        worker_defaults={"ignore_result": True},
    )
    assert task_options(index) == {"proj.tasks.t": {"ignore_result": True}}


def test_splat_of_a_module_dict_and_of_something_else() -> None:
    index, _ = index_modules(
        {
            "proj.tasks": APP + "COMMON = {'ignore_result': True, 'queue': 'common'}\n"
            "@app.task(**COMMON, priority=1)\ndef t(): pass\n"
            "@app.task(**make_options())\ndef u(): pass\n"
        }
    )
    assert task_options(index)["proj.tasks.t"] == {
        "ignore_result": True,
        "queue": "common",
        "priority": 1,
    }
    assert index.tasks["proj.tasks.u"].unresolved_options == ("**make_options()",)
    _, codes = rewrite(
        {"proj.tasks": APP + "@app.task(**make_options())\ndef u(): pass\n"},
        "app.send_task('proj.tasks.u')\n",
    )
    assert codes == [(1, "non-literal-option")]


def test_misspelled_decorator_keyword_is_reported_with_a_suggestion() -> None:
    index, _ = index_modules(
        {
            "proj.tasks": APP + "from celery import Task\n"
            "class Custom(Task):\n    tenant_field = None\n"
            "@app.task(ingore_result=True)\ndef typo(): pass\n"
            "@app.task(base=Custom, tenant_field='org')\ndef custom(): pass\n"
            "@app.task(something_else=1)\ndef unrelated(): pass\n"
        }
    )
    reported = [(d.line, d.code, d.message) for d in index.diagnostics]
    assert reported == [
        (
            7,
            "unknown-task-option",
            "task 'typo' passes ingore_result=, which Celery does not know and ignores; "
            "did you mean ignore_result=?",
        )
    ]


# -- project decorators ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("definition", "usage"),
    [
        pytest.param("fast = app.task(queue='fast')", "@fast", id="name = app.task(...)"),
        pytest.param(
            "from celery import shared_task\nfast = shared_task(queue='fast')",
            "@fast",
            id="name = shared_task(...)",
        ),
        pytest.param(
            "import functools\nfast = functools.partial(app.task, queue='fast')",
            "@fast()",
            id="partial",
        ),
        pytest.param(
            "def fast(**options):\n    return app.task(queue='fast', **options)",
            "@fast()",
            id="factory",
        ),
        pytest.param(
            "def fast(fn):\n    '''Fast lane.'''\n    return app.task(queue='fast')(fn)",
            "@fast",
            id="decorator",
        ),
    ],
)
def test_project_decorators_wrapping_app_task(definition: str, usage: str) -> None:
    index, _ = index_modules(
        {
            "proj.decorators": APP + definition + "\n",
            "proj.tasks": f"from proj.decorators import fast\n{usage}\ndef t(): pass\n",
        }
    )
    assert task_options(index) == {"proj.tasks.t": {"queue": "fast"}}


def test_complex_project_decorator_is_reported() -> None:
    index, _ = index_modules(
        {
            "proj.decorators": APP
            + "def odd(fn):\n    task = app.task(fn)\n    task.extra = 1\n    return task\n",
            "proj.tasks": "from proj.decorators import odd\n@odd\ndef t(): pass\n",
        }
    )
    assert task_options(index) == {}
    assert [(d.code, d.line) for d in index.diagnostics] == [("unresolved-decorator", 2)]


def test_task_under_if() -> None:
    index, _ = index_modules(
        {"proj.tasks": APP + "if FLAG:\n    @app.task(queue='q')\n    def t(): pass\n"}
    )
    assert task_options(index) == {"proj.tasks.t": {"queue": "q"}}


# -- calls -------------------------------------------------------------------------------------------

WORKER = {
    "proj.celery": APP,
    "proj.tasks": "from proj.celery import app\n"
    "@app.task(ignore_result=True, queue='q')\ndef add(x, y): pass\n"
    "@app.task(name='named', priority=5)\ndef named(): pass\n",
}


@pytest.mark.parametrize(
    ("before", "after"),
    [
        pytest.param(
            "from celery import current_app as dispatch\ndispatch.send_task('proj.tasks.add', [1, 2])\n",
            "from celery import current_app as dispatch\ndispatch.send_task('proj.tasks.add', [1, 2], ignore_result=True, queue='q')\n",
            id="aliased current_app",
        ),
        pytest.param(
            "import celery\ncelery.current_app.send_task('named')\n",
            "import celery\ncelery.current_app.send_task('named', priority=5)\n",
            id="celery.current_app",
        ),
        pytest.param(
            "def f(app):\n    send = app.send_task\n    send('named')\n",
            "def f(app):\n    send = app.send_task\n    send('named', priority=5)\n",
            id="local alias",
        ),
        pytest.param(
            "import functools\nrun = functools.partial(app.send_task, 'named')\n",
            "import functools\nrun = functools.partial(app.send_task, 'named', priority=5)\n",
            id="functools.partial",
        ),
        pytest.param(
            "from functools import partial\nrun = partial(app.send_task, 'named', countdown=3)\n",
            "from functools import partial\nrun = partial(app.send_task, 'named', countdown=3, priority=5)\n",
            id="partial imported",
        ),
        pytest.param(
            "from celery import signature\nsignature('named', args=())\n",
            "from celery import signature\nsignature('named', args=(), priority=5)\n",
            id="signature",
        ),
        pytest.param(
            "import celery\ncelery.signature('named')\n",
            "import celery\ncelery.signature('named', priority=5)\n",
            id="celery.signature",
        ),
        pytest.param(
            "app.signature('named', options={'countdown': 1})\n",
            "app.signature('named', options={'countdown': 1, 'priority': 5})\n",
            id="app.signature into options dict",
        ),
        pytest.param(
            "from celery import Signature\nSignature('named', (), {}, {})\n",
            "from celery import Signature\nSignature('named', (), {}, {'priority': 5})\n",
            id="Signature with positional options dict",
        ),
        pytest.param(
            "from celery import subtask\nsubtask('named')\n",
            "from celery import subtask\nsubtask('named', priority=5)\n",
            id="subtask",
        ),
        pytest.param(
            "from celery import chain, group, signature\nchain(group(signature('named')), signature('named'))\n",
            "from celery import chain, group, signature\nchain(group(signature('named', priority=5)), signature('named', priority=5))\n",
            id="inside chain and group",
        ),
        pytest.param(
            "from celery import signature\napp.send_task('proj.tasks.add', [1, 2], link=signature('named'))\n",
            "from celery import signature\napp.send_task('proj.tasks.add', [1, 2], link=signature('named', priority=5), ignore_result=True, queue='q')\n",
            id="link= callback",
        ),
    ],
)
def test_call_forms(before: str, after: str) -> None:
    assert rewrite(WORKER, before)[0] == after


@pytest.mark.parametrize(
    "source",
    [
        "import inspect\ninspect.signature(f)\n",
        "from inspect import signature\nsignature(f)\n",
        "app.signature(some_function)\n",
        "send_task('named')\n",
    ],
)
def test_calls_that_are_not_task_calls(source: str) -> None:
    after, codes = rewrite(WORKER, source)
    assert (after, codes) == (source, [])


def test_beat_schedule_entries() -> None:
    before = dedent(
        """\
        beat_schedule = {
            "a": {"task": "named", "schedule": 60},
            "b": {
                "task": "proj.tasks.add",
                "schedule": 60,
                "args": (1, 2),
                "options": {"expires": 30},
            },
        }
        CELERY_BEAT_SCHEDULE = {"c": {"task": "named", "schedule": 5, "options": {}}}
        """
    )
    after = dedent(
        """\
        beat_schedule = {
            "a": {"task": "named", "schedule": 60, "options": {"priority": 5}},
            "b": {
                "task": "proj.tasks.add",
                "schedule": 60,
                "args": (1, 2),
                "options": {"expires": 30, "ignore_result": True, "queue": "q"},
            },
        }
        CELERY_BEAT_SCHEDULE = {"c": {"task": "named", "schedule": 5, "options": {"priority": 5}}}
        """
    )
    assert rewrite(WORKER, before)[0] == after


def test_beat_entry_with_wrong_arguments_is_reported() -> None:
    _, codes = rewrite(WORKER, 'x = {"task": "proj.tasks.add", "schedule": 1, "args": [1]}\n')
    assert (1, "argument-mismatch") in codes


def test_positional_args_and_kwargs_are_checked() -> None:
    _, codes = rewrite(WORKER, "app.send_task('proj.tasks.add', [1], {'z': 2})\n")
    assert codes == [(1, "argument-mismatch"), (1, "argument-mismatch")]


@pytest.mark.parametrize(
    "routes",
    [
        "app.conf.task_routes = {'proj.tasks.add': {'queue': 'q'}}",
        "app.conf.task_routes = {'proj.tasks.*': 'q'}",
        "app.conf.update(task_routes={'proj.tasks.add': {'queue': 'q', 'routing_key': 'x'}})",
    ],
)
def test_queue_already_routed_by_config_is_not_added(routes: str) -> None:
    modules = {**WORKER, "proj.celery": APP + routes + "\n"}
    after, codes = rewrite(modules, "app.send_task('proj.tasks.add', [1, 2])\n")
    assert after == "app.send_task('proj.tasks.add', [1, 2], ignore_result=True)\n"
    assert codes == [(1, "routed-by-config")]


def test_django_task_routes_setting() -> None:
    modules = {
        **WORKER,
        "proj.settings": "CELERY_TASK_ROUTES = {'proj.tasks.add': {'queue': 'q'}}\n",
    }
    assert rewrite(modules, "app.send_task('proj.tasks.add', [1, 2])\n")[1] == [
        (1, "routed-by-config")
    ]


def test_route_to_another_queue_keeps_parity_with_apply_async() -> None:
    modules = {
        **WORKER,
        "proj.celery": APP + "app.conf.task_routes = {'proj.tasks.add': 'other'}\n",
    }
    after, codes = rewrite(modules, "app.send_task('proj.tasks.add', [1, 2])\n")
    assert after == "app.send_task('proj.tasks.add', [1, 2], ignore_result=True, queue='q')\n"
    assert codes == []


@pytest.mark.parametrize(
    "source",
    [
        "app.send_task('proj.tasks.add', [1, 2]).get()\n",
        "r = app.send_task('proj.tasks.add', [1, 2])\nprint(r.result)\n",
        "def f():\n    r = app.send_task('proj.tasks.add', [1, 2])\n    return r.wait(timeout=1)\n",
        "r = app.send_task('proj.tasks.add', [1, 2])\nif r.ready():\n    pass\n",
    ],
)
def test_result_read_keeps_ignore_result_out(source: str) -> None:
    after, codes = rewrite(WORKER, source)
    assert "queue='q'" in after
    assert "ignore_result" not in after
    assert "result-ignored" in [c for _, c in codes]


def test_result_id_is_not_a_read() -> None:
    after, codes = rewrite(
        WORKER, "def f():\n    r = app.send_task('proj.tasks.add', [1, 2])\n    print(r.id)\n"
    )
    assert "ignore_result=True" in after
    assert codes == []


@pytest.mark.parametrize(
    "source",
    [
        "def f():\n    return app.send_task('proj.tasks.add', [1, 2])\n",
        "def f():\n    r = app.send_task('proj.tasks.add', [1, 2])\n    return r\n",
        "def f(self):\n    self.pending = app.send_task('proj.tasks.add', [1, 2])\n",
        "results.append(app.send_task('proj.tasks.add', [1, 2]))\n",
        "pending = [app.send_task('proj.tasks.add', [x, 2]) for x in xs]\n",
        "def f():\n    yield app.send_task('proj.tasks.add', [1, 2])\n",
        "def f():\n    return app.send_task('proj.tasks.add', [1, 2]), 3\n",
    ],
)
def test_result_passed_on_keeps_ignore_result_out(source: str) -> None:
    """A result that leaves the function may be waited on elsewhere: not silenced."""
    after, codes = rewrite(WORKER, source)
    assert "queue='q'" in after
    assert "ignore_result" not in after
    assert [c for _, c in codes] == ["result-ignored"]


@pytest.mark.parametrize(
    "source",
    [
        "app.send_task('proj.tasks.add', [1, 2])\n",
        "def f():\n    r = app.send_task('proj.tasks.add', [1, 2])\n    return r.id\n",
        "def f():\n    return {'id': app.send_task('proj.tasks.add', [1, 2]).id}\n",
        "log(app.send_task('proj.tasks.add', [1, 2]).id)\n",
    ],
)
def test_a_result_that_is_dropped_or_only_its_id_read_gets_ignore_result(source: str) -> None:
    after, codes = rewrite(WORKER, source)
    assert "ignore_result=True" in after
    assert codes == []


def test_a_returned_partial_may_be_called_and_its_result_read() -> None:
    after, codes = rewrite(
        WORKER,
        "import functools\ndef f():\n    return functools.partial(app.send_task, 'proj.tasks.add')\n",
    )
    assert "ignore_result" not in after
    assert [c for _, c in codes] == ["result-ignored"]


def test_a_partial_called_here_whose_result_is_dropped_gets_ignore_result() -> None:
    after, codes = rewrite(
        WORKER,
        "import functools\ndef f():\n    start = functools.partial(app.send_task, 'proj.tasks.add')\n"
        "    start(args=[1, 2])\n",
    )
    assert "ignore_result=True" in after
    assert codes == []
