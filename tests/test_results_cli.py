"""`celery-codemod results` through the CLI: exit codes, --write, --patches, GitHub and SARIF output,
and the declaration edit's refusals."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path
from textwrap import dedent

import pytest

from codemods.declare import ATTRIBUTE, KEYWORD, DeclarationEdit, edit_declarations
from tests.conftest import FIXTURES, copy_tree, git, init_repo, run_cli
from tests.test_formats import assert_valid, validator  # noqa: F401 - a fixture

CASES = FIXTURES / "cases-results"


@pytest.fixture
def typos(tmp_path: Path, in_dir) -> Path:
    work = copy_tree(CASES / "typos", tmp_path / "work")
    init_repo(work)
    return in_dir(work)


def test_check_exits_1_while_a_declaration_would_change_then_0(typos: Path) -> None:
    check = run_cli("results", ".", "--check")
    assert check.exit_code == 1
    assert "would rewrite proj/tasks.py" in check.stderr
    assert check.stdout.count("\n") == 4  # one line per task, one per app
    written = run_cli("results", ".", "--write")
    assert written.exit_code == 0, written.stderr
    assert "rewrote proj/tasks.py" in written.stderr
    assert "@app.task(max_retry=5, ignore_result=True)" in (typos / "proj/tasks.py").read_text()
    assert run_cli("results", ".", "--check").exit_code == 0


def test_write_refuses_uncommitted_files(typos: Path) -> None:
    (typos / "proj/tasks.py").write_text((typos / "proj/tasks.py").read_text() + "\n# edited\n")
    result = run_cli("results", ".", "--write")
    assert result.exit_code == 2
    assert "uncommitted changes" in result.stderr
    assert "ignore_result=True)\ndef retry_typo" not in (typos / "proj/tasks.py").read_text()


def test_fix_typos_renames_only_where_the_result_is_unread(typos: Path) -> None:
    result = run_cli("results", ".", "--write", "--fix-typos")
    assert result.exit_code == 0, result.stderr
    text = (typos / "proj/tasks.py").read_text()
    assert "@app.task(ignore_result=True)\ndef unread_typo" in text
    assert "@app.task(ignore_results=True)\ndef read_typo" in text  # a reader depends on it
    assert "@app.task(max_retry=5, ignore_result=True)" in text  # reported, never renamed
    assert "ignore_results=True is renamed" in result.stderr


def test_patches_apply_with_git_am(typos: Path, tmp_path: Path) -> None:
    patches = tmp_path / "patches"
    result = run_cli("results", ".", "--patches", str(patches))
    assert result.exit_code == 0, result.stderr
    (patch,) = sorted(patches.iterdir())
    assert "ignore_result=True" in patch.read_text()
    git(typos, "am", str(patch))
    assert run_cli("results", ".", "--check").exit_code == 0


def test_github_annotations(typos: Path) -> None:
    result = run_cli("results", ".", "--format", "github")
    lines = result.stdout.splitlines()
    assert (
        "::error file=proj/tasks.py,line=16,title=celery-codemod unread-result::nobody reads the "
        "result of 'proj.tasks.retry_typo': declare ignore_result=True (celery-codemod results "
        "--write)"
    ) in lines
    assert any(
        line.startswith("::notice file=proj/tasks.py,line=16,title=celery-codemod option-typo")
        for line in lines
    )


def test_sarif_is_valid_and_offers_the_typo_fixes(typos: Path, validator) -> None:  # noqa: F811
    result = run_cli("results", ".", "--format", "sarif")
    document = json.loads(result.stdout)
    assert_valid(validator, document)
    results = document["runs"][0]["results"]
    unread = [r for r in results if r["ruleId"] == "unread-result"]
    assert [r["properties"]["task"] for r in unread] == ["proj.tasks.retry_typo"]
    assert "fixes" in unread[0]
    offers = {
        r["locations"][0]["physicalLocation"]["region"]["startLine"]: r["fixes"][0]
        for r in results
        if r["ruleId"] == "option-typo"
    }
    (replacement,) = offers[16]["artifactChanges"][0]["replacements"]
    assert replacement == {
        "deletedRegion": {"startLine": 16, "startColumn": 11, "endLine": 16, "endColumn": 20},
        "insertedContent": {"text": "max_retries"},
    }
    assert "behaviour change" in offers[16]["description"]["text"]


def test_json_reads_back_as_the_design_says(typos: Path) -> None:
    document = json.loads(run_cli("results", ".", "--format", "json").stdout)
    assert document["summary"]["tasks"] == 3
    (app,) = document["apps"]
    assert set(app) >= {"app", "path", "line", "backend_needed", "evidence"}
    for task in document["tasks"]:
        assert set(task) == {"name", "path", "line", "verdict", "calls", "evidence"}
        for item in task["evidence"]:
            assert set(item) - {"detail"} == {"path", "line", "kind", "in_tests", "eager"}


def test_help_lists_the_command() -> None:
    result = run_cli("results", "--help")
    assert result.exit_code == 0
    for option in (
        "--check",
        "--write",
        "--patches",
        "--diff",
        "--fix-typos",
        "--format",
        "--exclude",
    ):
        assert option in result.stdout
    assert "--options" not in result.stdout


def test_python_dash_m_runs_it(typos: Path) -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "codemods", "results", ".", "--format", "json"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert json.loads(completed.stdout)["version"] == 1


def test_an_unparsable_index_file_is_exit_2(typos: Path) -> None:
    (typos / "bad.json").write_text("{")
    result = run_cli("results", ".", "--index", "bad.json")
    assert result.exit_code == 2
    assert "bad.json" in result.stderr


# -- the declaration edit --------------------------------------------------------------------------


def edit(source: str, *edits: DeclarationEdit) -> tuple[str, str | None]:
    source = dedent(source)
    return edit_declarations(source, ast.parse(source), list(edits))


def test_a_declaration_that_is_not_there_is_refused() -> None:
    source = "@app.task\ndef a():\n    pass\n"
    new, problem = edit(source, DeclarationEdit(1, "b", KEYWORD))
    assert new == source
    assert problem is not None and "no declaration of 'b'" in problem


def test_a_class_body_on_the_class_line_is_refused() -> None:
    source = "class T(app.Task): name = 'x'\n"
    new, problem = edit(source, DeclarationEdit(1, "T", ATTRIBUTE))
    assert new == source
    assert problem is not None


def test_the_keyword_goes_after_a_comment_on_its_own_line() -> None:
    new, problem = edit(
        """
        @app.task(
            bind=True,  # needs self
        )
        def a(self):
            pass
        """,
        DeclarationEdit(2, "a", KEYWORD),
    )
    assert problem is None
    assert new == dedent(
        """
        @app.task(
            bind=True,  # needs self
            ignore_result=True,
        )
        def a(self):
            pass
        """
    )


def test_crlf_and_tabs_are_kept() -> None:
    source = "class T(app.Task):\r\n\tname = 'x'\r\n\r\n\tdef run(self):\r\n\t\tpass\r\n"
    new, problem = edit_declarations(
        source, ast.parse(source), [DeclarationEdit(1, "T", ATTRIBUTE)]
    )
    assert problem is None
    assert new == (
        "class T(app.Task):\r\n\tname = 'x'\r\n\tignore_result = True\r\n\r\n"
        "\tdef run(self):\r\n\t\tpass\r\n"
    )


def test_non_ascii_text_in_the_decorator_is_kept() -> None:
    new, problem = edit(
        "@shared_task(name='café.tâche')  # ✓\ndef a():\n    pass\n",
        DeclarationEdit(1, "a", KEYWORD),
    )
    assert problem is None
    assert new == "@shared_task(name='café.tâche', ignore_result=True)  # ✓\ndef a():\n    pass\n"


def test_the_attribute_goes_before_the_first_method_when_there_is_nothing_else() -> None:
    new, problem = edit(
        "class T(app.Task):\n    @property\n    def x(self):\n        return 1\n",
        DeclarationEdit(1, "T", ATTRIBUTE),
    )
    assert problem is None
    assert new == (
        "class T(app.Task):\n    ignore_result = True\n    @property\n    def x(self):\n"
        "        return 1\n"
    )


def test_a_task_read_through_one_app_keeps_every_app_backend(tmp_path: Path, in_dir) -> None:
    """`@app.task` tasks are shared: Celery registers them with every app a process makes."""
    work = tmp_path / "work"
    (work / "a").mkdir(parents=True)
    (work / "b").mkdir()
    for package in ("a", "b"):
        (work / package / "__init__.py").write_text("")
    (work / "a" / "celery.py").write_text("from celery import Celery\napp_a = Celery('a')\n")
    (work / "b" / "celery.py").write_text("from celery import Celery\napp_b = Celery('b')\n")
    (work / "b" / "tasks.py").write_text(
        "from b.celery import app_b\n\n@app_b.task\ndef f():\n    return 1\n\n"
        "def go():\n    return f.delay().get()\n"
    )
    in_dir(work)
    document = json.loads(run_cli("results", ".", "--format", "json").stdout)
    assert {a["app"]: a["backend_needed"] for a in document["apps"]} == {
        "a.celery.app_a": True,
        "b.celery.app_b": True,
    }


def test_a_read_of_a_task_declared_elsewhere_keeps_the_backend(tmp_path: Path, in_dir) -> None:
    work = tmp_path / "work"
    (work / "shop").mkdir(parents=True)
    (work / "shop" / "__init__.py").write_text("")
    (work / "shop" / "celery.py").write_text("from celery import Celery\napp = Celery('shop')\n")
    (work / "shop" / "views.py").write_text(
        "from worker.tasks import fulfil\n\ndef checkout():\n    return fulfil.delay().get()\n"
    )
    in_dir(work)
    document = json.loads(run_cli("results", ".", "--format", "json").stdout)
    (app,) = document["apps"]
    assert app["backend_needed"] is True
    assert app["evidence"][0]["path"] == "shop/views.py"


def _unread_project(work: Path, views: str) -> None:
    (work / "shop").mkdir(parents=True)
    (work / "shop" / "__init__.py").write_text("")
    (work / "shop" / "celery.py").write_text("from celery import Celery\napp = Celery('shop')\n")
    (work / "shop" / "tasks.py").write_text(
        "from shop.celery import app\n\n@app.task\ndef compress_image(pk):\n    return pk\n\n"
        "@app.task\ndef other(pk):\n    return pk\n"
    )
    (work / "shop" / "upload.py").write_text(
        "from shop.tasks import compress_image, other\n\n"
        "def upload(pk):\n    compress_image.delay(pk)\n    other.delay(pk)\n"
    )
    (work / "shop" / "views.py").write_text(views)


# Python 3.14 syntax: no earlier Python parses it.
UNPARSABLE_VIEWS = (
    "from shop.tasks import compress_image\n\n"
    "def view(pk):\n    try:\n        pass\n    except ValueError, TypeError:\n        pass\n"
    "    return compress_image.delay(pk).get()\n"
)


def test_a_task_a_file_that_cannot_be_parsed_mentions_is_never_unread(
    tmp_path: Path, in_dir
) -> None:
    """The file may read the task's result: the tool cannot see, so it must not say unread."""
    work = tmp_path / "work"
    _unread_project(work, UNPARSABLE_VIEWS)
    in_dir(work)
    document = json.loads(run_cli("results", ".", "--format", "json").stdout)
    verdicts = {t["name"]: t for t in document["tasks"]}
    assert verdicts["shop.tasks.other"]["verdict"] == "unread"
    compress = verdicts["shop.tasks.compress_image"]
    assert compress["verdict"] == "unknown"
    assert any(
        e["path"] == "shop/views.py" and e["kind"] == "dynamic-call" and e["line"] == 1
        for e in compress["evidence"]
    )
    (app,) = document["apps"]
    assert app["backend_needed"] is True
    codes = {d["code"] for d in document["diagnostics"]}
    assert "parse-error" in codes


def test_the_same_file_parsed_lets_the_verdict_follow_its_calls(tmp_path: Path, in_dir) -> None:
    """The control: parsed, the same read makes compress_image `read`."""
    work = tmp_path / "work"
    _unread_project(
        work, UNPARSABLE_VIEWS.replace("ValueError, TypeError", "(ValueError, TypeError)")
    )
    in_dir(work)
    document = json.loads(run_cli("results", ".", "--format", "json").stdout)
    verdicts = {t["name"]: t["verdict"] for t in document["tasks"]}
    assert verdicts == {"shop.tasks.compress_image": "read", "shop.tasks.other": "unread"}


def test_an_unparsable_file_that_mentions_no_task_changes_no_verdict(
    tmp_path: Path, in_dir
) -> None:
    work = tmp_path / "work"
    _unread_project(work, "def view(:\n    return compress_images_elsewhere.delay()\n")
    in_dir(work)
    document = json.loads(run_cli("results", ".", "--format", "json").stdout)
    verdicts = {t["name"]: t["verdict"] for t in document["tasks"]}
    assert verdicts == {"shop.tasks.compress_image": "unread", "shop.tasks.other": "unread"}


def test_a_file_whose_bytes_cannot_be_read_may_start_any_task() -> None:
    from codemods.model import TaskDef, TaskIndex
    from codemods.symbols import SymbolTable
    from codemods.verdicts import UnreadableFile, decide

    task = TaskDef("shop.tasks.add", "shop/tasks.py", 3, function="shop.tasks.add")
    index = TaskIndex({task.name: task})
    unreadable = [UnreadableFile("shop/views.py", "read-error", None)]
    (verdict,) = decide([], index, SymbolTable(), unreadable=unreadable).tasks
    assert verdict.verdict == "unknown"
    assert any(e.path == "shop/views.py" for e in verdict.evidence)
    mentioned = [UnreadableFile("shop/views.py", "parse-error", b"x = 1\nadd.delay(\n")]
    (verdict,) = decide([], index, SymbolTable(), unreadable=mentioned).tasks
    assert [(e.path, e.line) for e in verdict.evidence if e.kind == "dynamic-call"] == [
        ("shop/views.py", 2)
    ]


def test_a_dashed_task_name_is_mentioned_only_whole() -> None:
    """`change-dvla-password` is not mentioned by a file that says `password`."""
    from codemods.model import TaskDef, TaskIndex
    from codemods.symbols import SymbolTable
    from codemods.verdicts import UnreadableFile, decide

    task = TaskDef("change-dvla-password", "app/tasks.py", 3, function="app.tasks.change_pw")
    index = TaskIndex({task.name: task})
    text = b"def f(password):\n    return password\n"
    (verdict,) = decide(
        [], index, SymbolTable(), unreadable=[UnreadableFile("a.py", "x", text)]
    ).tasks
    assert not any(e.path == "a.py" for e in verdict.evidence)
    whole = text + b'CELERY = {"task": "change-dvla-password"}\n'
    (verdict,) = decide(
        [], index, SymbolTable(), unreadable=[UnreadableFile("a.py", "x", whole)]
    ).tasks
    assert [(e.path, e.line) for e in verdict.evidence if e.path == "a.py"] == [("a.py", 3)]
