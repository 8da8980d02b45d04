from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from codemods.cli import main

pytest.register_assert_rewrite("tests.tools")

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"


def run_cli(*args: str | Path) -> Result:
    """Run the CLI in-process; stdout and stderr are kept apart, as a shell would see them."""
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def git(cwd: Path, *args: str) -> str:
    env = {
        "GIT_AUTHOR_NAME": "Test",
        "GIT_AUTHOR_EMAIL": "test@example.com",
        "GIT_COMMITTER_NAME": "Test",
        "GIT_COMMITTER_EMAIL": "test@example.com",
        "GIT_CONFIG_GLOBAL": "/dev/null",
        "GIT_CONFIG_NOSYSTEM": "1",
        "PATH": "/usr/bin:/bin:/usr/local/bin",
    }
    completed = subprocess.run(
        ["git", *args], cwd=cwd, env=env, capture_output=True, text=True, check=True
    )
    return completed.stdout


def copy_tree(source: Path, target: Path) -> Path:
    shutil.copytree(
        source, target, ignore=shutil.ignore_patterns("expected.*", "args", "__pycache__")
    )
    return target


def init_repo(path: Path) -> Path:
    """Make `path` a git repository with everything in it committed."""
    git(path, "init", "-q", "-b", "main")
    git(path, "add", "-A")
    git(path, "commit", "-q", "-m", "initial")
    return path


@pytest.fixture(autouse=True)
def private_cache(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """Each test gets its own scan cache, never the user's."""
    folder = tmp_path_factory.mktemp("xdg-cache")
    monkeypatch.setenv("XDG_CACHE_HOME", str(folder))
    return folder / "celery-codemod"


@pytest.fixture
def in_dir(monkeypatch: pytest.MonkeyPatch):
    """Change the working directory for one test (paths in output are relative to it)."""

    def change(path: Path) -> Path:
        monkeypatch.chdir(path)
        return path

    return change
