"""`index --app`: the real Celery app's registry, and where static reading differs from it.

Each test imports a project's code, so it runs the CLI in a subprocess of its own.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.conftest import FIXTURES


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "codemods", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
    )


def test_live_registry_matches_the_static_index_on_the_demo() -> None:
    demo = FIXTURES / "demo"
    live = cli("index", "--app", "proj.celery:app", "--source-root", "worker", cwd=demo)
    static = cli("index", "worker", cwd=demo)
    assert live.returncode == 0, live.stderr
    live_tasks = {t["name"]: t for t in json.loads(live.stdout)["tasks"]}
    static_tasks = {t["name"]: t for t in json.loads(static.stdout)["tasks"]}
    assert sorted(live_tasks) == sorted(static_tasks)
    for name, task in live_tasks.items():
        assert task["signature"] == static_tasks[name]["signature"]
        assert (task["path"], task["line"]) == (
            static_tasks[name]["path"],
            static_tasks[name]["line"],
        )
    assert live_tasks["proj.billing.charge"]["options"] == {
        "acks_late": True,
        "ignore_result": True,
        "queue": "billing",
    }
    compared = cli(
        "index",
        "worker",
        "--app",
        "proj.celery:app",
        "--source-root",
        "worker",
        "--compare",
        cwd=demo,
    )
    assert compared.returncode == 0, compared.stdout + compared.stderr
    assert compared.stdout == ""


def test_compare_shows_what_static_reading_cannot_see() -> None:
    case = FIXTURES / "cases" / "real-world-forms"
    compared = cli(
        "index",
        "worker",
        "--source-root",
        "worker",
        "--app",
        "acme.tasks:app",
        "--compare",
        cwd=case,
    )
    assert compared.returncode == 1
    assert compared.stdout.splitlines() == [
        "acme.tasks.weird: only in the live registry (the static index cannot see it)",
        "acme.tasks.feature: only in the static index (the app does not register it)",
    ]


def test_an_app_that_cannot_be_imported_exits_2(tmp_path: Path) -> None:
    result = cli("index", "--app", "nowhere.celery:app", cwd=tmp_path)
    assert result.returncode == 2
    assert "cannot import 'nowhere.celery': ModuleNotFoundError" in result.stderr


def test_compare_needs_app(tmp_path: Path) -> None:
    result = cli("index", "--compare", cwd=tmp_path)
    assert result.returncode == 2
    assert "--compare needs --app" in result.stderr
