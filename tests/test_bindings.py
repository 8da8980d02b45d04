"""Names and worker settings follow Python's binding rules: the last binding wins, a binding that
depends on a branch, an exception or an import cycle is ambiguous, and Python's own import is
the oracle."""

from __future__ import annotations

import importlib
import itertools
import sys
from pathlib import Path
from textwrap import dedent

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from codemods.index import index_source
from codemods.model import NOT_LITERAL, Ref
from codemods.rewrite import rewrite_source
from codemods.run import Settings, collect
from codemods.symbols import SymbolTable
from tests.tools import index_modules, task_options

APP = "from celery import Celery\napp = Celery('proj')\n"
WORKER = {
    "proj.__init__": "",
    "proj.celery": APP
    + "@app.task(name='task.a', queue='queue_a')\ndef a(): pass\n"
    + "@app.task(name='task.b', queue='queue_b')\ndef b(): pass\n",
    "proj.names_a": "TASK = 'task.a'\n",
    "proj.names_b": "TASK = 'task.b'\n",
}


def rewrite(producer: str, modules: dict[str, str] | None = None) -> tuple[str, list[str]]:
    index, symbols = index_modules({**WORKER, **(modules or {})})
    result = rewrite_source(
        dedent(producer), index, path="producer.py", module="producer", symbols=symbols
    )
    return result.new_source or "", [d.code for d in result.diagnostics]


# -- the binding Python uses ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "producer",
    [
        pytest.param(
            "from proj.names_a import *\nfrom proj.names_b import *\n", id="two star imports"
        ),
        pytest.param('from proj.names_a import TASK\nTASK = "task.b"\n', id="import, then assign"),
        pytest.param('TASK = "task.a"\nfrom proj.names_b import *\n', id="assign, then star"),
        pytest.param(
            'from proj import names_a as n\nn = __import__("x")\nTASK = "task.b"\n', id="rebind"
        ),
    ],
)
def test_the_last_binding_wins(producer: str) -> None:
    after, codes = rewrite(producer + "def f():\n    app.send_task(TASK)\n")
    assert after.endswith('app.send_task(TASK, queue="queue_b")\n'), codes


@pytest.mark.parametrize(
    "producer",
    [
        pytest.param(
            "try:\n    from proj.names_b import TASK\nexcept ImportError:\n"
            "    from proj.names_a import TASK\n",
            id="try/except ImportError",
        ),
        pytest.param(
            "import os\nif os.environ.get('X'):\n    TASK = 'task.a'\nelse:\n    TASK = 'task.b'\n",
            id="if/else",
        ),
        pytest.param("TASK = 'task.b'\nfor _ in range(3):\n    TASK = 'task.a'\n", id="loop"),
        pytest.param(
            "def rebind():\n    global TASK\n    TASK = 'task.a'\nTASK = 'task.b'\n",
            id="global in a function",
        ),
    ],
)
def test_a_binding_that_depends_on_a_branch_is_ambiguous(producer: str) -> None:
    after, codes = rewrite(producer + "def f():\n    app.send_task(TASK)\n")
    assert after == ""
    assert codes == ["ambiguous-binding"]


def test_the_ambiguity_warning_names_both_places() -> None:
    index, symbols = index_modules(WORKER)
    source = (
        "try:\n    from proj.names_b import TASK\nexcept ImportError:\n"
        "    from proj.names_a import TASK\napp.send_task(TASK)\n"
    )
    result = rewrite_source(source, index, path="p.py", module="p", symbols=symbols)
    assert [d.message for d in result.diagnostics] == [
        "the task name is not a constant: 'TASK' is bound at p.py:2 or p.py:4, depending on a "
        "branch or an exception; the call cannot be checked"
    ]


def test_branches_that_agree_are_not_ambiguous() -> None:
    after, _ = rewrite(
        "import os\nif os.environ.get('X'):\n    TASK = 'task.b'\nelse:\n    from proj.names_b import TASK\n"
        "def f():\n    app.send_task(TASK)\n"
    )
    assert after.endswith('app.send_task(TASK, queue="queue_b")\n')


def test_module_level_code_sees_the_binding_made_before_it() -> None:
    after, _ = rewrite(
        "TASK = 'task.a'\napp.send_task(TASK)\nTASK = 'task.b'\ndef f():\n    app.send_task(TASK)\n"
    )
    assert after.splitlines()[1] == 'app.send_task(TASK, queue="queue_a")'
    assert after.splitlines()[-1] == '    app.send_task(TASK, queue="queue_b")'


def test_type_checking_blocks_never_run() -> None:
    after, _ = rewrite(
        "from typing import TYPE_CHECKING\nfrom proj.names_b import TASK\n"
        "if TYPE_CHECKING:\n    from proj.names_a import TASK\ndef f():\n    app.send_task(TASK)\n"
    )
    assert after.endswith('app.send_task(TASK, queue="queue_b")\n')


# -- star imports ----------------------------------------------------------------------------------

SETTINGS_PACKAGE = (
    "from .base import *\ntry:\n    from .local import *\nexcept ImportError:\n    pass\n"
)


def test_an_optional_star_import_of_an_absent_module_binds_nothing() -> None:
    table = SymbolTable(
        [
            index_source(SETTINGS_PACKAGE, path="s/__init__.py", module="s", is_package=True),
            index_source("A = 'a'\nB = 'b'\n", path="s/base.py", module="s.base"),
        ]
    )
    assert table.resolve(Ref("s.A")) == "a"


def test_an_optional_star_import_makes_only_its_own_names_ambiguous() -> None:
    table = SymbolTable(
        [
            index_source(SETTINGS_PACKAGE, path="s/__init__.py", module="s", is_package=True),
            index_source("A = 'a'\nB = 'b'\nC = 'c'\n", path="s/base.py", module="s.base"),
            index_source("B = 'local'\nC = 'c'\n", path="s/local.py", module="s.local"),
        ]
    )
    assert table.resolve(Ref("s.A")) == "a"
    assert table.resolve(Ref("s.B")) is NOT_LITERAL
    assert table.resolve(Ref("s.C")) == "c"  # both give the same value
    _, why = table.explain(Ref("s.B"))
    assert why is not None and why.places == (("s/base.py", 2), ("s/local.py", 1))


def test_a_star_import_copies_only_what_all_lists() -> None:
    table = SymbolTable(
        [
            index_source("from .a import *\n", path="p/b.py", module="p.b"),
            index_source(
                "__all__ = ['X']\nX = 'x'\nY = 'y'\n_Z = 'z'\n", path="p/a.py", module="p.a"
            ),
            index_source("from .c import *\n", path="p/d.py", module="p.d"),
            index_source("Y = 'y'\n_Z = 'z'\n", path="p/c.py", module="p.c"),
        ]
    )
    assert [table.resolve(Ref(f"p.b.{n}")) for n in ("X", "Y", "_Z")] == [
        "x",
        NOT_LITERAL,
        NOT_LITERAL,
    ]
    assert [table.resolve(Ref(f"p.d.{n}")) for n in ("Y", "_Z")] == ["y", NOT_LITERAL]


def test_importing_a_submodule_binds_its_name_in_the_package() -> None:
    table = SymbolTable(
        [
            index_source(
                "names = 'stale'\nfrom .names import TASK\n",
                path="p/__init__.py",
                module="p",
                is_package=True,
            ),
            index_source("TASK = 't'\n", path="p/names.py", module="p.names"),
            index_source("import p\nX = p.names.TASK\n", path="q.py", module="q"),
        ]
    )
    assert table.resolve(Ref("q.X", "q")) == "t"


def test_a_name_reached_only_through_an_import_cycle_is_ambiguous() -> None:
    table = SymbolTable(
        [
            index_source("from .b import *\n", path="p/a.py", module="p.a"),
            index_source(
                "from .a import *\nX = 'x'\nfrom .c import *\n", path="p/b.py", module="p.b"
            ),
            index_source("from .b import *\n", path="p/c.py", module="p.c"),
        ]
    )
    assert table.resolve(Ref("p.b.X")) == "x"  # bound by b itself, whatever runs first
    value, why = table.explain(Ref("p.c.X"))
    assert value is NOT_LITERAL and why is not None and why.cause == "an import cycle"


# -- worker settings -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("settings_code", "expected", "warned"),
    [
        pytest.param(
            "if os.environ.get('ENV') == 'production':\n    app.conf.task_default_priority = 9\n"
            "else:\n    app.conf.task_default_priority = 1\n",
            {},
            True,
            id="if/else that disagree",
        ),
        pytest.param(
            "if os.environ.get('ENV'):\n    app.conf.task_default_priority = 9\n"
            "else:\n    app.conf.update(task_default_priority=9)\n",
            {"priority": 9},
            False,
            id="if/else that agree",
        ),
        pytest.param(
            "if os.environ.get('LOCAL_DEV'):\n    app.conf.task_ignore_result = True\n",
            {},
            True,
            id="if without else",
        ),
        pytest.param(
            "app.conf.task_default_priority = 3\n"
            "try:\n    app.conf.update(LOCAL)\nexcept NameError:\n    pass\n",
            {},
            True,
            id="a dict of settings in a try",
        ),
        pytest.param(
            "app.conf.task_default_priority = 3\nif os.environ.get('X'):\n    pass\n"
            "app.conf.task_default_priority = 5\n",
            {"priority": 5},
            False,
            id="the last unconditional setting",
        ),
    ],
)
def test_worker_settings_under_branches(
    settings_code: str, expected: dict[str, object], warned: bool
) -> None:
    modules = {
        "proj.celery": "import os\n"
        + APP
        + "LOCAL = {'task_default_priority': 1}\n"
        + settings_code,
        "proj.tasks": "from proj.celery import app\n@app.task\ndef add(): pass\n",
    }
    index, _ = index_modules(modules)
    assert task_options(index) == {"proj.tasks.add": expected}
    codes = [d.code for d in index.diagnostics]
    assert codes == (["ambiguous-binding"] if warned else [])


def test_a_settings_module_with_a_conditional_value_is_not_copied() -> None:
    modules = {
        "proj.celery": APP + "app.config_from_object('proj.celeryconfig')\n",
        "proj.celeryconfig": "import os\ntask_default_priority = 1\n"
        "if os.environ.get('PROD'):\n    task_default_priority = 9\ntask_serializer = 'yaml'\n",
        "proj.tasks": "from proj.celery import app\n@app.task\ndef add(): pass\n",
    }
    index, _ = index_modules(modules)
    assert task_options(index) == {"proj.tasks.add": {"serializer": "yaml"}}
    assert [(d.code, d.path, d.line) for d in index.diagnostics] == [
        ("ambiguous-binding", "proj/celeryconfig.py", 2)
    ]


# -- modules without a scan hint -------------------------------------------------------------------


def test_constants_reexported_through_modules_without_a_hint_resolve(tmp_path: Path) -> None:
    (tmp_path / "proj").mkdir()
    (tmp_path / "constants").mkdir()
    (tmp_path / "proj" / "__init__.py").write_text("")
    (tmp_path / "constants" / "__init__.py").write_text("")
    (tmp_path / "proj" / "celery.py").write_text(
        APP + "@app.task(name='billing.charge', queue='billing')\ndef charge(): pass\n"
    )
    (tmp_path / "constants" / "base.py").write_text("CHARGE = 'billing.charge'\n")
    (tmp_path / "constants" / "all.py").write_text("from .base import *\n")
    for i in range(8):  # and an explicit re-export chain longer than five modules
        (tmp_path / "constants" / f"r{i}.py").write_text(f"from .r{i + 1} import CHARGE\n")
    (tmp_path / "constants" / "r8.py").write_text("from .all import CHARGE\n")
    (tmp_path / "producer.py").write_text(
        "from proj.celery import app\nfrom constants.all import CHARGE\n"
        "from constants.r0 import CHARGE as AGAIN\napp.send_task(CHARGE)\napp.send_task(AGAIN)\n"
    )
    outcome = collect(Settings(paths=(tmp_path,), jobs=1))
    changes = [dict(c.added) for r in outcome.report.results for c in r.changes]
    assert changes == [{"queue": "billing"}, {"queue": "billing"}]


# -- the oracle: Python's own import -----------------------------------------------------------------

_examples = itertools.count()


@st.composite
def module_graphs(draw: st.DrawFn) -> list[list[str]]:
    """2 to 6 modules m0..mN; module i imports only modules after it (no cycles)."""
    count = draw(st.integers(2, 6))
    modules = []
    values = itertools.count()
    for i in range(count):
        later = list(range(i + 1, count))
        kinds = ["assign", "other"] + (["star", "from", "attribute", "try", "if"] if later else [])
        lines = []
        for kind in draw(st.lists(st.sampled_from(kinds), max_size=5)):
            target = draw(st.sampled_from(later)) if later else 0
            value = f"v{next(values)}"
            if kind == "assign":
                lines.append(f"NAME = {value!r}")
            elif kind == "other":
                lines.append(f"OTHER = {value!r}")
            elif kind == "star":
                lines.append(f"from .m{target} import *")
            elif kind == "from":
                lines.append(
                    f"try:\n    from .m{target} import NAME\nexcept ImportError:\n    pass"
                )
            elif kind == "attribute":
                lines.append(
                    f"from . import m{target}\nNAME = getattr(m{target}, 'NAME', {value!r})"
                )
                lines.append(f"if hasattr(m{target}, 'NAME'):\n    NAME = m{target}.NAME")
            elif kind == "try":
                lines.append(
                    f"try:\n    from .m{target} import NAME\nexcept ImportError:\n    NAME = {value!r}"
                )
            else:
                lines.append(f"if {draw(st.booleans())}:\n    NAME = {value!r}")
        modules.append(lines)
    return modules


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(graph=module_graphs())
def test_bindings_agree_with_pythons_import(tmp_path: Path, graph: list[list[str]]) -> None:
    package = f"oracle_{next(_examples)}"
    folder = tmp_path / package
    folder.mkdir()
    (folder / "__init__.py").write_text("")
    facts = []
    for i, lines in enumerate(graph):
        source = "\n".join(lines) + "\n"
        (folder / f"m{i}.py").write_text(source)
        facts.append(index_source(source, path=f"m{i}.py", module=f"{package}.m{i}"))
    sys.path.insert(0, str(tmp_path))
    try:
        module = importlib.import_module(f"{package}.m0")
        expected = getattr(module, "NAME", None)
    finally:
        sys.path.remove(str(tmp_path))
        for name in [m for m in sys.modules if m == package or m.startswith(f"{package}.")]:
            del sys.modules[name]
    table = SymbolTable(facts)
    found = table.resolve(Ref(f"{package}.m0.NAME"))
    # Never another value than Python's; a definite answer wherever no branch is involved.
    assert found is NOT_LITERAL or found == expected
    unconditional = not any(
        line.startswith(("try", "if", "from . import")) for lines in graph for line in lines
    )
    if unconditional and expected is not None:
        assert found == expected
