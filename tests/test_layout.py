"""Source roots found without options: the names the tool gives tasks are the ones Celery gives
them when the project runs the way its code implies (checked against real Celery)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from textwrap import dedent

import pytest

from codemods.layout import absolute_imports, infer_layout, marker_roots
from tests.conftest import FIXTURES, copy_tree, run_cli

# Imports the given modules with `root` first on sys.path, as the project runs, and prints the
# task names every Celery app registered.
LIVE = """
import importlib, sys
for module in sys.argv[1:]:
    importlib.import_module(module)
from celery._state import _get_active_apps
names = {n for app in _get_active_apps() for n in app.tasks if not n.startswith("celery.")}
print("\\n".join(sorted(names)))
"""

APP = "from celery import Celery\n\napp = Celery('{main}')\n"
TASKS = """\
from {app_module} import app


@app.task(ignore_result=True, queue="{queue}")
def {function}(x):
    pass
"""


def write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(dedent(text))
    return root


def live_names(root: Path, *modules: str) -> list[str]:
    completed = subprocess.run(
        [sys.executable, "-c", LIVE, *modules],
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"},
    )
    return completed.stdout.split()


def indexed(*args: str | Path) -> list[str]:
    result = run_cli("index", *args)
    assert result.exit_code == 0, result.stderr
    return sorted(task["name"] for task in json.loads(result.stdout)["tasks"])


def summary(*args: str | Path) -> dict[str, object]:
    result = run_cli("fix", "--format", "json", *args)
    assert result.exit_code == 0, result.stderr
    document: dict[str, dict[str, object]] = json.loads(result.stdout)
    return document["summary"]


# -- whole trees, against real Celery ------------------------------------------------------------


def test_django_project_folder_that_is_itself_a_package(tmp_path: Path, in_dir) -> None:
    """`manage.py` beside an `__init__.py`: Python runs from that folder, so the inner package
    is `proj`, not `proj.proj`, and the app folder without `__init__.py` is `app`."""
    repo = write(
        tmp_path / "repo",
        {
            "proj/__init__.py": "",
            "proj/manage.py": "import os\nos.environ.setdefault('X', 'proj.settings')\n",
            "proj/proj/__init__.py": "",
            "proj/proj/celery_api.py": APP.format(main="proj"),
            "proj/app/tasks.py": TASKS.format(
                app_module="proj.celery_api", queue="mail", function="send_receipt"
            ),
            "proj/app/views.py": """\
                from proj.celery_api import app

                def checkout(order):
                    app.send_task("app.tasks.send_receipt", args=[order])
                """,
        },
    )
    in_dir(repo)
    assert indexed(".") == ["app.tasks.send_receipt"]
    assert live_names(repo / "proj", "proj.celery_api", "app.tasks") == ["app.tasks.send_receipt"]
    result = run_cli("fix", ".")
    assert 'args=[order], ignore_result=True, queue="mail")' in result.stdout
    assert summary(".")["source_roots"] == ["proj"]


def test_src_layout_with_a_namespace_package(tmp_path: Path, in_dir) -> None:
    repo = write(
        tmp_path / "repo",
        {
            "pyproject.toml": '[tool.setuptools.packages.find]\nwhere = ["src"]\n',
            "src/company/billing/__init__.py": "",
            "src/company/billing/celery.py": APP.format(main="billing"),
            "src/company/billing/tasks.py": TASKS.format(
                app_module="company.billing.celery", queue="billing", function="charge"
            ),
        },
    )
    in_dir(repo)
    assert indexed(".") == ["company.billing.tasks.charge"]
    modules = ("company.billing.celery", "company.billing.tasks")
    assert live_names(repo / "src", *modules) == ["company.billing.tasks.charge"]
    assert summary(".")["source_roots"] == ["src"]


def test_src_folder_alone_marks_the_root(tmp_path: Path, in_dir) -> None:
    """No import names the package, but `src/` beside a packaging file is on sys.path."""
    repo = write(
        tmp_path / "repo",
        {
            "setup.py": "from setuptools import setup\nsetup(name='x')\n",
            "src/company/jobs/tasks.py": """\
                from celery import shared_task

                @shared_task(queue="jobs")
                def nightly():
                    pass
                """,
        },
    )
    in_dir(repo)
    assert indexed(".") == ["company.jobs.tasks.nightly"]


def test_namespace_package_without_any_init(tmp_path: Path, in_dir) -> None:
    repo = write(
        tmp_path / "repo",
        {
            "ns/sub/app.py": APP.format(main="ns"),
            "ns/sub/tasks.py": TASKS.format(app_module="ns.sub.app", queue="q", function="work"),
        },
    )
    in_dir(repo)
    assert indexed(".") == ["ns.sub.tasks.work"]
    assert live_names(repo, "ns.sub.app", "ns.sub.tasks") == ["ns.sub.tasks.work"]


def test_monorepo_gets_one_root_per_service(tmp_path: Path, in_dir) -> None:
    """Both services have an `app` package (each runs from its own folder): an import of
    `app.celery` means the one of the service the importing file is in."""
    files = {}
    for service, function in (("billing", "charge"), ("shipping", "ship")):
        files |= {
            f"services/{service}/__init__.py": "",
            f"services/{service}/app/__init__.py": "",
            f"services/{service}/app/celery.py": APP.format(main=service),
            f"services/{service}/app/tasks.py": TASKS.format(
                app_module="app.celery", queue=service, function=function
            ),
            f"services/{service}/app/api.py": f"""\
                from app.celery import app

                def go(x):
                    app.send_task("app.tasks.{function}", args=[x])
                """,
        }
    repo = write(tmp_path / "repo", files)
    in_dir(repo)
    assert indexed(".") == ["app.tasks.charge", "app.tasks.ship"]
    for service, function in (("billing", "charge"), ("shipping", "ship")):
        root = repo / "services" / service
        assert live_names(root, "app.celery", "app.tasks") == [f"app.tasks.{function}"]
    got = summary(".")
    assert got["source_roots"] == ["services/billing", "services/shipping"]
    assert got["calls_changed"] == 2


def test_verbose_prints_the_roots_and_why(tmp_path: Path, in_dir) -> None:
    repo = write(
        tmp_path / "repo",
        {
            "manage.py": "",
            "shop/tasks.py": "from celery import shared_task\n\n@shared_task\ndef a():\n    pass\n",
        },
    )
    in_dir(repo)
    result = run_cli("fix", "-v", ".")
    assert "celery-codemod: source roots: . (manage.py)\n" in result.stderr
    assert indexed(".") == ["shop.tasks.a"]


def test_explicit_source_root_wins(tmp_path: Path, in_dir) -> None:
    repo = write(
        tmp_path / "repo",
        {
            "ns/sub/app.py": APP.format(main="ns"),
            "ns/sub/tasks.py": """\
                from celery import shared_task
                from ns.sub.app import app

                @shared_task
                def work():
                    pass
                """,
        },
    )
    in_dir(repo)
    assert indexed(".") == ["ns.sub.tasks.work"]
    assert indexed(".", "--source-root", "ns") == ["sub.tasks.work"]
    result = run_cli("fix", "-v", ".", "--source-root", "ns")
    assert "source roots: ns (--source-root)" in result.stderr


def test_folders_that_are_no_identifiers_keep_their_names(tmp_path: Path, in_dir) -> None:
    repo = write(
        tmp_path / "repo",
        {
            "manage.py": "",
            ".semgrep/rules/tasks.py": "from celery import shared_task\n\n@shared_task\ndef a():\n    pass\n",
        },
    )
    in_dir(repo)
    assert indexed(".") == ["tasks.a"]


def test_subpackage_named_like_a_library_keeps_its_name(tmp_path: Path, in_dir) -> None:
    """`from celery import shared_task` next to a `proj/celery/` package is the library."""
    repo = write(
        tmp_path / "repo",
        {
            "proj/__init__.py": "",
            "proj/celery/__init__.py": APP.format(main="proj"),
            "proj/tasks.py": """\
                from celery import shared_task
                import celery.schedules

                @shared_task(queue="q")
                def work():
                    pass
                """,
        },
    )
    in_dir(repo)
    assert indexed(".") == ["proj.tasks.work"]


# -- the inference alone -------------------------------------------------------------------------


def test_absolute_imports_are_read_also_inside_functions() -> None:
    import ast

    tree = ast.parse(
        dedent(
            """\
            import a.b, c
            from d.e import f, g as h
            from . import rel
            from .x import y
            def lazy():
                from k.l import m
            """
        )
    )
    assert absolute_imports(tree) == ("a.b", "c", "d.e.f", "d.e.g", "d.e", "k.l.m", "k.l")


@pytest.mark.parametrize(
    ("imports", "tops"),
    [
        pytest.param(["proj.celery_api.app", "proj.celery_api"], {"/r/proj/proj"}, id="nested"),
        pytest.param(["os.path", "json.decoder"], set(), id="standard library"),
        pytest.param(["celery_api"], set(), id="one part is not enough"),
        pytest.param(["proj.missing"], set(), id="lands on no file"),
    ],
)
def test_tops_from_imports(imports: list[str], tops: set[str]) -> None:
    files = ["/r/proj/proj/__init__.py", "/r/proj/proj/celery_api.py"]
    importer = "/r/proj/app/tasks.py"
    layout = infer_layout([*files, importer], {importer: imports}, {})
    assert layout.tops == tops


def test_an_import_of_the_file_itself_is_no_evidence() -> None:
    path = "/r/lib/proj/celery.py"
    assert not infer_layout([path], {path: ["proj.celery"]}, {})


def test_ambiguous_import_outside_the_importers_tree_is_ignored() -> None:
    files = ["/r/a/app/celery.py", "/r/b/app/celery.py"]
    importer = "/r/tools/x.py"
    assert not infer_layout([*files, importer], {importer: ["app.celery"]}, {})


def test_a_folder_inside_a_package_imports_reach_is_not_a_top() -> None:
    files = ["/r/proj/__init__.py", "/r/proj/graphql/__init__.py", "/r/proj/graphql/error.py"]
    importers = {
        "/r/proj/a.py": ["proj.models"],
        "/r/proj/models.py": ["graphql.error"],  # the library, not proj/graphql/error.py
    }
    layout = infer_layout([*files, *importers], importers, {})
    assert layout.tops == {"/r/proj"}


def test_manage_py_inside_a_package_is_not_a_root() -> None:
    files = ["/r/lemur/__init__.py", "/r/lemur/manage.py", "/r/lemur/certs/views.py"]
    importers = {"/r/lemur/certs/views.py": ["lemur.manage"]}
    layout = infer_layout(files, importers, {"/r/lemur": "manage.py"})
    assert layout.tops == {"/r/lemur"}
    assert layout.roots == frozenset()


def test_markers(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "a/manage.py": "",
            "b/pyproject.toml": '[tool.poetry]\npackages = [{include = "x", from = "lib"}]\n',
            "b/lib/x/__init__.py": "",
            "c/setup.cfg": "[options]\npackage_dir =\n    =source\n",
            "c/source/y/__init__.py": "",
            "d/src/z/__init__.py": "",  # no packaging file beside src/: not a marker
            "e/pyproject.toml": "not toml [",
        },
    )
    files = [str(p) for p in tmp_path.rglob("*.py")]
    found = marker_roots(files, [str(tmp_path)])
    assert found == {
        f"{tmp_path}/a": "manage.py",
        f"{tmp_path}/b/lib": "pyproject.toml",
        f"{tmp_path}/c/source": "setup.cfg",
    }


def test_markers_above_the_trees_are_not_read(tmp_path: Path) -> None:
    write(tmp_path, {"setup.py": "", "src/project/proj/__init__.py": ""})
    files = [str(p) for p in tmp_path.rglob("*.py")]
    assert marker_roots(files, [f"{tmp_path}/src/project"]) == {}


def test_each_file_is_parsed_once_cold_and_never_warm(
    tmp_path: Path, in_dir, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Files are scanned under the names their imports suggest before parsing, so inferring
    the layout costs no second parse; a warm run parses nothing."""
    import codemods.scan

    in_dir(copy_tree(FIXTURES / "cases" / "django-project-package", tmp_path / "repo"))
    scanned: list[str] = []
    real = codemods.scan.scan_file

    def counting(path: Path, **kwargs: object) -> object:
        if not kwargs.get("force"):  # not a module read for its constants only
            scanned.append(path.as_posix())
        return real(path, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(codemods.scan, "scan_file", counting)
    cold = run_cli("fix", ".")
    assert 'app.send_task("app.tasks.send_receipt", args=[order.id], ignore_result' in cold.stdout
    assert len(scanned) == len(set(scanned)) == 7
    scanned.clear()
    assert run_cli("fix", ".").stdout == cold.stdout
    assert scanned == []


def test_folders_deeper_than_the_stack_are_named(tmp_path: Path) -> None:
    import inspect

    from codemods.modname import ModuleNamer

    folder = tmp_path
    for _ in range(400):
        folder = folder / "a"
        folder.mkdir()
        (folder / "__init__.py").write_text("")
    path = folder / "tasks.py"
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(len(inspect.stack()) + 200)  # the folders nest deeper than the stack
    try:
        name = ModuleNamer()(path)
        inferred = ModuleNamer(tops={str(tmp_path / "a")})(path)
    finally:
        sys.setrecursionlimit(limit)
        while folder != tmp_path:  # leave no deep tree for pytest's recursive clean-up
            for child in folder.iterdir():
                child.unlink()
            folder.rmdir()
            folder = folder.parent
    assert name == (".".join(["a"] * 400 + ["tasks"]), False)
    assert inferred == name
