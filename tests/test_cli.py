"""The command line as users and CI meet it: outputs, exit codes, files written."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.conftest import FIXTURES, run_cli


@pytest.fixture
def demo(tmp_path: Path, in_dir) -> Path:
    work = tmp_path / "demo"
    shutil.copytree(FIXTURES / "demo", work, ignore=shutil.ignore_patterns("expected.*"))
    return in_dir(work)


def snapshot(root: Path) -> dict[Path, bytes]:
    return {p: p.read_bytes() for p in sorted(root.rglob("*.py"))}


def test_default_mode_prints_the_diff_and_writes_nothing(demo: Path) -> None:
    before = snapshot(demo)
    result = run_cli("fix")
    assert result.exit_code == 0
    assert result.stdout.startswith(
        "--- a/producers/api/signup.py\n+++ b/producers/api/signup.py\n"
    )
    assert result.stderr.splitlines()[-1] == (
        "celery-codemod: 10 calls in 3 files to change (10 files scanned, 8 tasks indexed); "
        "1 error, 4 warnings, 1 info"
    )
    assert "producers/batch/jobs.py:24: error argument-mismatch: " in result.stderr
    assert snapshot(demo) == before


def test_check_then_write_then_check(demo: Path) -> None:
    before = snapshot(demo)
    check = run_cli("fix", "--check")
    assert check.exit_code == 1
    assert check.stdout == ""
    assert "would rewrite producers/api/views.py\n" in check.stderr
    assert snapshot(demo) == before

    write = run_cli("fix", "--write")
    assert write.exit_code == 1  # the demo's argument mismatch is an error
    assert "rewrote producers/batch/jobs.py\n" in write.stderr
    assert snapshot(demo) != before

    again = run_cli("fix", "--check")
    assert again.exit_code == 1
    assert "would rewrite" not in again.stderr
    assert "0 calls in 0 files would change" in again.stderr
    assert "error argument-mismatch" in again.stderr


def test_check_passes_on_a_clean_tree(tmp_path: Path, in_dir) -> None:
    in_dir(tmp_path)
    (tmp_path / "w.py").write_text(
        "from celery import Celery\napp = Celery()\n@app.task(queue='q')\ndef t(): pass\n"
    )
    (tmp_path / "p.py").write_text("app.send_task('w.t', queue='q')\n")
    result = run_cli("fix", "--check")
    assert result.exit_code == 0, result.stderr
    assert result.stderr == (
        "celery-codemod: 0 calls in 0 files would change (2 files scanned, 1 task indexed); "
        "0 errors, 0 warnings, 0 info\n"
    )


def test_check_and_write_together_is_a_usage_error(demo: Path) -> None:
    result = run_cli("fix", "--check", "--write")
    assert result.exit_code == 2
    assert "--check, --write and --patches cannot be used together" in result.stderr


def test_json_follows_the_design_schema(demo: Path) -> None:
    result = run_cli("fix", "--format", "json")
    document = json.loads(result.stdout)
    assert document["version"] == 1
    assert document["summary"] == {
        "files_scanned": 10,
        "files_changed": 3,
        "calls_changed": 10,
        "tasks_indexed": 8,
        "source_roots": ["producers/api", "producers/batch", "worker"],
    }
    assert document["changes"][0] == {
        "path": "producers/api/signup.py",
        "line": 7,
        "task": "proj.emails.send_welcome",
        "added": {"ignore_result": True, "priority": 3, "expires": 3600},
    }
    for diagnostic in document["diagnostics"]:
        assert set(diagnostic) == {"path", "line", "code", "severity", "message"}
        assert diagnostic["severity"] in ("error", "warning", "info")
    assert result.stderr == ""


def test_index_lists_every_demo_task(demo: Path) -> None:
    result = run_cli("index", "worker")
    document = json.loads(result.stdout)
    assert document["version"] == 1
    assert document["tool"].startswith("celery-codemod ")
    by_name = {t["name"]: t for t in document["tasks"]}
    assert sorted(by_name) == [
        "billing.refund",
        "proj.billing.charge",
        "proj.emails.send_digest",
        "proj.emails.send_welcome",
        "proj.media.resize",
        "proj.media.transcode",
        "proj.reports.cleanup_reports",
        "reports.build",
    ]
    assert by_name["proj.billing.charge"] == {
        "name": "proj.billing.charge",
        "path": "worker/proj/billing.py",
        "line": 8,
        "options": {"ignore_result": True, "queue": "billing", "acks_late": True},
        "unresolved_options": [],
        "signature": {
            "positional": ["account_id", "amount_cents", "currency"],
            "required": 2,
            "varargs": False,
            "keyword_only": [],
            "varkw": False,
            "positional_only": 0,
            "required_keyword_only": [],
        },
    }


def test_index_file_replaces_the_worker_tree(demo: Path) -> None:
    assert run_cli("index", "worker", "-o", "tasks.json").exit_code == 0
    shutil.rmtree("worker")
    from_file = run_cli("fix", "producers", "--index", "tasks.json")
    assert from_file.exit_code == 0
    assert from_file.stdout.count("+++ b/") == 3
    assert "8 tasks indexed" in from_file.stderr


def test_workers_option_separates_indexing_from_rewriting(demo: Path) -> None:
    result = run_cli("fix", "producers/batch", "--workers", "worker", "--format", "json")
    document = json.loads(result.stdout)
    assert {c["path"] for c in document["changes"]} == {"producers/batch/jobs.py"}
    assert document["summary"]["tasks_indexed"] == 8


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "tasks.json: not valid JSON"),
        ('{"version": 1, "tasks": [{"name": "a"', "tasks.json: not valid JSON"),
        (
            '{"version": 2, "tasks": []}',
            "tasks.json: index version 2 is newer than this tool reads (1)",
        ),
        ('{"tasks": []}', "tasks.json: missing or invalid 'version'"),
        (
            '{"version": 1, "tasks": [{"name": ""}]}',
            "tasks.json: task #1: 'name' must be a non-empty string",
        ),
        (
            '{"version": 1, "tasks": [{"name": "a", "options": {"q": [1]}}]}',
            "'options' must map names",
        ),
    ],
)
def test_invalid_index_file_exits_2_naming_the_file(demo: Path, content: str, message: str) -> None:
    Path("tasks.json").write_text(content)
    before = snapshot(demo)
    result = run_cli("fix", "--write", "--index", "tasks.json")
    assert result.exit_code == 2
    assert message in result.stderr
    assert snapshot(demo) == before


def test_missing_index_file_exits_2(demo: Path) -> None:
    result = run_cli("fix", "--index", "nope.json")
    assert result.exit_code == 2
    assert "nope.json: cannot read" in result.stderr


def test_options_chooses_the_propagated_set(demo: Path) -> None:
    result = run_cli("fix", "--options", "queue", "--format", "json")
    added = [c["added"] for c in json.loads(result.stdout)["changes"]]
    assert added and all(set(a) == {"queue"} for a in added)


def test_bad_options_list_is_a_usage_error(demo: Path) -> None:
    result = run_cli("fix", "--options", "queue,not an option")
    assert result.exit_code == 2


def test_source_root_sets_generated_names(tmp_path: Path, in_dir) -> None:
    in_dir(tmp_path)
    (tmp_path / "src" / "svc").mkdir(parents=True)  # a namespace package: no __init__.py
    (tmp_path / "src" / "svc" / "jobs.py").write_text(
        "from celery import shared_task\n@shared_task(queue='q')\ndef run(): pass\n"
    )
    result = run_cli("index", "src", "--source-root", "src")
    assert [t["name"] for t in json.loads(result.stdout)["tasks"]] == ["svc.jobs.run"]


def test_unparsable_file_is_reported_and_others_still_processed(demo: Path) -> None:
    Path("producers/api/broken.py").write_text("def f(:\n    app.send_task('x')\n")
    result = run_cli("fix", "--check")
    assert result.exit_code == 1
    assert (
        "producers/api/broken.py:1: error parse-error: cannot parse: invalid syntax"
        in result.stderr
    )
    assert "would rewrite producers/api/views.py" in result.stderr


def test_version_and_module_entry_point() -> None:
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-m", "codemods", "--version"], capture_output=True, text=True, check=True
    )
    assert result.stdout.startswith("celery-codemod, version ")
