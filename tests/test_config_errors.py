"""Bad configuration and option values: one line naming the file (or option) and the cause, exit 2,
never a traceback; and values that are valid are used exactly as written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from codemods import commands
from codemods.cli import available_cores
from codemods.config import parse_size
from tests.conftest import run_cli

WORKER = 'from celery import Celery\napp = Celery("p")\n@app.task\ndef add(): pass\n'
CALL = 'from proj.celery import app\napp.send_task("proj.celery.add")\n'


@pytest.fixture
def project(tmp_path: Path, in_dir) -> Path:
    (tmp_path / "proj").mkdir()
    (tmp_path / "proj" / "__init__.py").write_text("")
    (tmp_path / "proj" / "celery.py").write_text(WORKER)
    (tmp_path / "p.py").write_text(CALL)
    return in_dir(tmp_path)


def last_line(text: str) -> str:
    return text.strip().splitlines()[-1]


def test_a_parent_pyproject_whose_tool_is_not_a_table_is_a_configuration_error(
    tmp_path: Path, in_dir
) -> None:
    (tmp_path / "pyproject.toml").write_text("tool = 5\n")
    child = tmp_path / "child"
    (child / "proj").mkdir(parents=True)
    (child / "p.py").write_text(CALL)
    in_dir(child)
    result = run_cli("fix", ".")
    assert result.exit_code == 2
    assert last_line(result.stderr) == (
        f"celery-codemod: error: {tmp_path / 'pyproject.toml'}: tool: expected a table, not int"
    )


@pytest.mark.parametrize(
    "value",
    ['"' + "9" * 400 + 'GB"', "9" * 400, "0", '"0MB"', "-1", '"0.4B"', "nan", "inf", "true"],
)
def test_a_size_that_is_not_positive_or_is_absurd_is_rejected_in_pyproject(
    project: Path, value: str
) -> None:
    (project / "pyproject.toml").write_text(f"[tool.celery-codemod]\nmax-file-size = {value}\n")
    result = run_cli("fix", ".")
    assert result.exit_code == 2
    assert last_line(result.stderr) == (
        f"celery-codemod: error: {project / 'pyproject.toml'}: [tool.celery-codemod] "
        'max-file-size: expected a size from 1 byte to 8 EiB, such as "10MB"'
    )


@pytest.mark.parametrize("value", ["0", "0KB", "9" * 400 + "GB", "-5"])
def test_a_size_that_is_not_positive_or_is_absurd_is_rejected_on_the_command_line(
    project: Path, value: str
) -> None:
    result = run_cli("fix", "--max-file-size", value, ".")
    assert result.exit_code == 2
    assert "Traceback" not in result.stderr
    assert "Invalid value for --max-file-size: not a size from 1 byte to 8 EiB" in result.stderr
    assert len(last_line(result.stderr)) < 200


def test_sizes_are_read_exactly() -> None:
    assert parse_size("10MB") == 10_000_000
    assert parse_size("1.5 KiB") == 1536
    assert parse_size("0.1GB") == 100_000_000  # no binary floating-point rounding
    assert parse_size(1) == 1
    assert parse_size(2**63) is None


@pytest.mark.parametrize("serializer", ['my"json', "my\\json", "it's", 'x\\"y'])
def test_a_worker_setting_string_is_copied_exactly(project: Path, serializer: str) -> None:
    toml_string = json.dumps(serializer)  # a TOML basic string escapes as JSON does here
    (project / "pyproject.toml").write_text(
        f"[tool.celery-codemod]\nworker-settings = {{ task_serializer = {toml_string} }}\n"
    )
    result = run_cli("fix", "--format", "json", ".")
    assert result.exit_code == 0, result.stderr
    [change] = json.loads(result.stdout)["changes"]
    assert change["added"] == {"serializer": serializer}


def test_worker_settings_as_strings_read_json_values_and_plain_text(project: Path) -> None:
    (project / "pyproject.toml").write_text(
        '[tool.celery-codemod]\nworker-settings = ["task_serializer=msgpack", '
        '"task_default_priority=5"]\n'
    )
    result = run_cli("fix", "--format", "json", ".")
    [change] = json.loads(result.stdout)["changes"]
    assert change["added"] == {"serializer": "msgpack", "priority": 5}


@pytest.mark.parametrize(
    "table",
    [
        "worker-settings = { task_default_priority = nan }",
        "worker-settings = { task_default_priority = inf }",
        'worker-settings = ["task_default_priority=NaN"]',
        'worker-settings = ["task_default_priority=1e999"]',
        'worker-settings = ["task_default_priority=' + "9" * 5000 + '"]',
        'worker-settings = ["task_default_priority=[1]"]',
    ],
)
def test_a_worker_setting_no_call_can_take_is_a_configuration_error(
    project: Path, table: str
) -> None:
    (project / "pyproject.toml").write_text(f"[tool.celery-codemod]\n{table}\n")
    result = run_cli("fix", ".")
    assert result.exit_code == 2
    line = last_line(result.stderr)
    assert line.startswith(
        f"celery-codemod: error: {project / 'pyproject.toml'}: [tool.celery-codemod] "
        "worker-settings"
    )
    assert len(line) < 300


def test_an_unknown_worker_setting_in_pyproject_names_the_file(project: Path) -> None:
    (project / "pyproject.toml").write_text(
        "[tool.celery-codemod]\nworker-settings = { task_nonsense = 1 }\n"
    )
    result = run_cli("fix", ".")
    assert result.exit_code == 2
    assert last_line(result.stderr).startswith(
        f"celery-codemod: error: {project / 'pyproject.toml'}: [tool.celery-codemod] "
        "worker-settings: 'task_nonsense' is not one of "
    )


@pytest.mark.parametrize(
    "setting",
    ["task_default_priority=NaN", "task_default_priority=-Infinity",
     "task_default_priority=" + "9" * 5000, "task_default_priority=" + "[" * 100_000],
)  # fmt: skip
def test_a_worker_setting_no_call_can_take_is_a_usage_error(project: Path, setting: str) -> None:
    result = run_cli("fix", "--worker-setting", setting, ".")
    assert result.exit_code == 2
    assert "Traceback" not in result.stderr
    assert "Invalid value for --worker-setting: " in result.stderr
    assert len(last_line(result.stderr)) < 300


def test_jobs_are_capped_at_the_cores(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    asked = []
    real_collect = commands.collect

    def spy(settings, progress=None):
        asked.append(settings.jobs)
        return real_collect(settings, progress=progress)

    monkeypatch.setattr(commands, "collect", spy)
    run_cli("fix", "-j", "50", ".")
    run_cli("fix", "-j", "1", ".")
    (project / "pyproject.toml").write_text("[tool.celery-codemod]\njobs = 50\n")
    run_cli("fix", ".")
    cores = available_cores()
    assert asked == [min(50, cores), 1, min(50, cores)]
