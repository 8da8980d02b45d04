"""Task index files and the live registry under bad input: exit 2 with one line naming the file and
the cause, never a traceback; NaN and infinity are neither read nor written."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import run_cli

CALL = 'from celery import current_app as app\napp.send_task("t", args=[1])\n'
GOOD = '{"version": 1, "tasks": [{"name": "t", "options": {"queue": "q"}}]}'


@pytest.fixture
def producer(tmp_path: Path, in_dir) -> Path:
    (tmp_path / "p.py").write_text(CALL)
    return in_dir(tmp_path)


@pytest.mark.parametrize(
    ("text", "cause"),
    [
        ('{"version": 1, "tasks": [{"name": "t", "line": ' + "9" * 5000 + "}]}", "not usable JSON (Exceeds the limit (4300 digits)"),
        ('{"version": 1, "tasks": ' + "[" * 100_000 + "]" * 100_000 + "}", "not usable JSON (nested too deeply)"),
        ('{"version": 1, "tasks": [{"name": "t", "options": {"priority": NaN}}]}', "not valid JSON (NaN is not a JSON number)"),
        ('{"version": 1, "tasks": [{"name": "t", "options": {"expires": Infinity}}]}', "not valid JSON (Infinity is not a JSON number)"),
        ('{"version": 1, "tasks": [{"name": "t", "options": {"expires": -Infinity}}]}', "not valid JSON (-Infinity is not a JSON number)"),
        ('{"version": 1, "tasks": [{"name": "t", "options": {"expires": 1e999}}]}', "not valid JSON (1e999 is too large for a number)"),
    ],
)  # fmt: skip
def test_an_index_that_cannot_be_used_is_exit_2_naming_the_file(
    producer: Path, text: str, cause: str
) -> None:
    (producer / "tasks.json").write_text(text)
    result = run_cli("fix", "--index", "tasks.json", "p.py")
    assert result.exit_code == 2
    line = result.stderr.strip().splitlines()[-1]
    assert line.startswith(f"celery-codemod: error: tasks.json: {cause}")
    assert len(result.stderr.strip().splitlines()) == 1
    assert (producer / "p.py").read_text() == CALL


def test_an_index_with_a_utf8_bom_is_read(producer: Path) -> None:
    (producer / "tasks.json").write_bytes(b"\xef\xbb\xbf" + GOOD.encode())
    result = run_cli("fix", "--index", "tasks.json", "--format", "json", "p.py")
    assert result.exit_code == 0, result.stderr
    assert [c["added"] for c in json.loads(result.stdout)["changes"]] == [{"queue": "q"}]


def test_index_never_writes_infinity_and_reports_it_as_not_copyable(tmp_path: Path, in_dir) -> None:
    (tmp_path / "proj").mkdir()
    (tmp_path / "proj" / "__init__.py").write_text("")
    (tmp_path / "proj" / "celery.py").write_text(
        'from celery import Celery\napp = Celery("p")\n'
        '@app.task(expires=1e999, priority=-1e999, queue="q")\ndef add(): pass\n'
    )
    (tmp_path / "p.py").write_text(
        'from proj.celery import app\napp.send_task("proj.celery.add")\n'
    )
    in_dir(tmp_path)
    exported = run_cli("index", ".", "-o", "tasks.json")
    assert exported.exit_code == 0, exported.stderr
    text = (tmp_path / "tasks.json").read_text()
    assert "Infinity" not in text and "NaN" not in text
    [task] = json.loads(text)["tasks"]
    assert task["options"] == {"queue": "q"}
    assert sorted(task["unresolved_options"]) == ["expires", "priority"]
    fixed = run_cli("fix", "--format", "json", ".")
    document = json.loads(fixed.stdout)
    assert [c["added"] for c in document["changes"]] == [{"queue": "q"}]
    codes = sorted(d["code"] for d in document["diagnostics"])
    assert codes == ["non-literal-option", "non-literal-option"]  # no unsafe-rewrite


# -- the live registry ---------------------------------------------------------------------------


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "codemods", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.mark.parametrize(
    ("ending", "message"),
    [
        (
            "import sys\nsys.exit(3)\n",
            "celery-codemod: error: importing 'worker' called sys.exit(3)",
        ),
        (
            "import os\nos._exit(0)\n",
            "celery-codemod: error: importing 'worker' ended the process (exit code 0) before "
            "the registry could be read",
        ),
    ],
)
def test_an_app_module_that_ends_the_process_is_exit_2(
    tmp_path: Path, ending: str, message: str
) -> None:
    (tmp_path / "worker.py").write_text(
        'from celery import Celery\napp = Celery("w")\n@app.task\ndef add(): pass\n'
        'print("the app talks on stdout")\n' + ending
    )
    result = cli("index", "--app", "worker:app", "-o", "tasks.json", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.strip().splitlines()[-1] == message
    assert not (tmp_path / "tasks.json").exists()


def test_what_the_app_prints_does_not_garble_the_index(tmp_path: Path) -> None:
    (tmp_path / "worker.py").write_text(
        'from celery import Celery\napp = Celery("w")\nprint("hello")\n'
        '@app.task(queue="q")\ndef add(): pass\n'
    )
    result = cli("index", "--app", "worker:app", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "hello" in result.stderr
    [task] = json.loads(result.stdout)["tasks"]
    assert (task["name"], task["options"]) == ("worker.add", {"queue": "q"})
