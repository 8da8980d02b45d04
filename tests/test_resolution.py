"""Name resolution ends, in linear time, on import graphs of every shape (hang guards, no timings)."""

from __future__ import annotations

import ast
import importlib.util
import pickle
import sys
from pathlib import Path
from textwrap import dedent

import pytest

from codemods.model import NOT_LITERAL, Concat, Ref
from codemods.plan import suggest
from codemods.rewrite import rewrite_source
from codemods.run import Settings, collect
from codemods.scan import scan_file
from codemods.symbols import MAX_VALUE_LENGTH, SymbolTable, read_value
from tests.tools import index_modules, task_options

APP = "from celery import Celery\napp = Celery('proj')\n"


def _benchmark() -> object:
    path = Path(__file__).parent.parent / "benchmarks" / "resolution.py"
    spec = importlib.util.spec_from_file_location("resolution_benchmark", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


BENCHMARK = _benchmark()


def run_tree(root: Path) -> tuple[int, list[str]]:
    outcome = collect(Settings(paths=(root,), jobs=1))
    changed = sum(len(r.changes) for r in outcome.report.results)
    return changed, sorted({d.code for d in outcome.report.diagnostics})


# -- the worst shapes of the benchmark, at 40 modules ----------------------------------------------


@pytest.mark.timeout(60)
@pytest.mark.parametrize("found", [True, False], ids=["found", "missing"])
@pytest.mark.parametrize(
    ("shape", "resolved"),
    [
        ("star_chain", True),
        ("star_pkg_chain", True),
        ("star_diamond", True),
        ("star_ring", False),  # a name reached through an import cycle is ambiguous
        ("star_mutual", False),
        ("pkg_selfstar", True),
        ("wide_star", True),
        ("import_chain", True),
        ("hintless_chain", True),
        ("const_chain", True),
        ("alias_chain", True),
        ("class_chain", True),
        ("enum_chain", True),
    ],
)
def test_import_graphs_resolve_at_any_depth(
    tmp_path: Path, shape: str, resolved: bool, found: bool
) -> None:
    BENCHMARK.build(shape, 40, found, tmp_path)  # type: ignore[attr-defined]
    changed, codes = run_tree(tmp_path)
    if found and resolved:
        assert changed == 1, codes
    elif found:
        assert (changed, codes) == (0, ["ambiguous-binding"])
    else:
        assert changed == 0
        assert "dynamic-name" in codes


@pytest.mark.timeout(60)
def test_a_chain_80_modules_deep_resolves(tmp_path: Path) -> None:
    for shape in ("star_chain", "import_chain", "class_chain"):
        BENCHMARK.build(shape, 80, True, tmp_path / shape)  # type: ignore[attr-defined]
        assert run_tree(tmp_path / shape)[0] == 1, shape


@pytest.mark.timeout(60)
def test_a_django_settings_package_star_importing_two_submodules_ends() -> None:
    modules = {
        "proj.settings.__init__": (
            "from .base import *\ntry:\n    from .local import *\nexcept ImportError:\n    pass\n"
        ),
        "proj.settings.base": "CELERY_TASK_DEFAULT_PRIORITY = 1\nCELERY_TASK_SERIALIZER = 'yaml'\n",
        "proj.settings.local": "CELERY_TASK_DEFAULT_PRIORITY = 9\n",
        "proj.celery": (
            "import os\nos.environ.setdefault('DJANGO_SETTINGS_MODULE', 'proj.settings')\n"
            + APP
            + "app.config_from_object('django.conf:settings', namespace='CELERY')\n"
            "@app.task\ndef add(x, y): pass\n"
        ),
    }
    index, _ = index_modules(modules)
    # local.py may be absent where the worker runs: its priority is one of two; base's
    # serializer holds either way.
    assert task_options(index) == {"proj.celery.add": {"serializer": "yaml"}}
    assert [(d.code, d.path, d.line) for d in index.diagnostics] == [
        ("ambiguous-binding", "proj/settings/base.py", 1)
    ]


@pytest.mark.timeout(30)
@pytest.mark.parametrize(
    "routes",
    [
        pytest.param("from .routes import *\ntask_routes = task_routes\n", id="X = X after a star"),
        pytest.param("A = B\nB = A\ntask_routes = A\n", id="A = B, B = A"),
        pytest.param("task_routes = ROUTES\nROUTES = task_routes\n", id="ROUTES = task_routes"),
    ],
)
def test_a_task_routes_constant_referring_to_itself_ends(routes: str) -> None:
    modules = {
        "proj.routes": "task_routes = {'proj.celery.add': {'queue': 'q'}}\n",
        "proj.celery": APP + routes + "@app.task(queue='q')\ndef add(x, y): pass\n",
    }
    index, _ = index_modules(modules)
    assert index.routes == (("proj.celery.add", "q"),)  # from proj.routes; the cycle adds none


@pytest.mark.timeout(30)
def test_self_referencing_app_routes_end() -> None:
    modules = {"proj.celery": APP + "R = R2\nR2 = R\napp.conf.task_routes = R\n"}
    index, _ = index_modules(modules)
    assert index.routes == ()


@pytest.mark.timeout(30)
@pytest.mark.parametrize("leaf", ["os.sep", "'x'"], ids=["unresolvable leaf", "resolvable leaf"])
def test_fstring_constants_built_from_fstring_constants_resolve_once(leaf: str) -> None:
    lines = ["import os", f"A0 = {leaf}"]
    lines += [f"A{i} = f'" + f"{{A{i - 1}}}" * 8 + "'" for i in range(1, 12)]
    lines += ["B0 = 'y'"] + [f"B{i} = B{i - 1} + B{i - 1}" for i in range(1, 40)]
    source = "\n".join(lines) + "\n@app.task(name='t')\ndef t(): pass\napp.send_task(A11)\n"
    result = rewrite_source(APP + source, index_modules({})[0], path="p.py", module="p")
    assert [d.code for d in result.diagnostics] == ["dynamic-name"]
    assert len(result.diagnostics[0].message) < 200  # the value is never built in full


def test_a_resolved_string_longer_than_the_cap_is_not_literal() -> None:
    table = SymbolTable()
    assert table.resolve(Concat(("x" * MAX_VALUE_LENGTH,))) == "x" * MAX_VALUE_LENGTH
    assert table.resolve(Concat(("x" * MAX_VALUE_LENGTH, "y"))) is NOT_LITERAL


# -- long `+` chains ---------------------------------------------------------------------------------


def test_a_long_plus_chain_is_one_flat_concat() -> None:
    node = ast.parse(" + ".join(['"x "'] * 250)).body[0].value  # type: ignore[attr-defined]
    value = read_value(node, "m")
    assert isinstance(value, Concat) and len(value.parts) == 250
    assert all(part == "x " for part in value.parts)
    assert pickle.loads(pickle.dumps(value)) == value
    mixed = ast.parse("A + 'b' + (C + D) + f'{E}.f'").body[0].value  # type: ignore[attr-defined]
    assert read_value(mixed, "m") == Concat(
        (Ref("m.A", "m"), "b", Ref("m.C", "m"), Ref("m.D", "m"), Ref("m.E", "m"), ".f")
    )


@pytest.mark.parametrize("terms", [250, 600])
def test_a_module_with_a_long_plus_chain_is_indexed(tmp_path: Path, terms: int) -> None:
    path = tmp_path / "sql.py"
    query = " + ".join(['"x "'] * terms)
    path.write_text(
        APP + f"QUERY = {query}\n@app.task(queue='q')\ndef t(): pass\napp.send_task('sql.t')\n"
    )
    scan = scan_file(path, module="sql", is_package=False, max_size=10_000_000)
    assert scan.problem is None
    assert scan.facts is not None and [d.function for d in scan.facts.declared] == ["t"]
    assert scan.calls is not None and len(scan.calls.sites) == 1
    pickle.dumps(scan)


# -- unknown-task suggestions ------------------------------------------------------------------------


@pytest.mark.timeout(60)
def test_suggestions_for_thousands_of_unknown_calls_are_indexed() -> None:
    known = tuple(sorted(f"proj.tasks.process_item_{i}" for i in range(3000)))
    for j in range(3000):
        suggest(f"proj.tasks.handle_event_{j}", known)
    assert suggest("proj.tasks.process_itme_7", known) == ["proj.tasks.process_item_7"]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("proj.tasks.ad", ["proj.tasks.add"]),
        ("tasks.add", ["proj.tasks.add"]),
        ("proj.task.add", ["proj.tasks.add"]),
        ("proj.tasks.sned_mail", ["proj.tasks.send_mail"]),
        ("proj.tasks.send_mails", ["proj.tasks.send_mail"]),
        ("proj.tasks.unrelated", []),
        ("other", ["othr"]),
    ],
)
def test_suggestions_keep_their_quality(name: str, expected: list[str]) -> None:
    known = ("othr", "proj.tasks.add", "proj.tasks.send_mail", "proj.tasks.sum", "x.y.run")
    assert suggest(name, known) == expected


def test_the_settings_package_layout_in_a_real_run_ends(tmp_path: Path) -> None:
    (tmp_path / "proj" / "settings").mkdir(parents=True)
    (tmp_path / "proj" / "__init__.py").write_text("")
    (tmp_path / "proj" / "settings" / "__init__.py").write_text(
        "from .base import *\nfrom .local import *\n"
    )
    (tmp_path / "proj" / "settings" / "base.py").write_text("CELERY_TASK_DEFAULT_PRIORITY = 1\n")
    (tmp_path / "proj" / "settings" / "local.py").write_text("CELERY_TASK_DEFAULT_PRIORITY = 9\n")
    (tmp_path / "proj" / "celery.py").write_text(
        dedent(
            """\
            import os
            from celery import Celery
            os.environ.setdefault("DJANGO_SETTINGS_MODULE", "proj.settings")
            app = Celery("proj")
            app.config_from_object("django.conf:settings", namespace="CELERY")

            @app.task
            def add(x, y): pass
            """
        )
    )
    (tmp_path / "producer.py").write_text(
        "from proj.celery import app\napp.send_task('proj.celery.add', args=[1, 2])\n"
    )
    outcome = collect(Settings(paths=(tmp_path,), jobs=1))
    # Unconditional star imports: the last one wins, as in Python.
    assert [dict(c.added) for r in outcome.report.results for c in r.changes] == [{"priority": 9}]
