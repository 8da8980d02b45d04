"""The pre-commit hooks (.pre-commit-hooks.yaml), run by the real pre-commit.

The hook repository is a copy of this project's files in a temporary git repository, so the
tests see the working tree as it is, whatever is committed. pre-commit builds the hook's
environment (a virtualenv with the project pip-installed: this needs PyPI) once per module, in a
shared PRE_COMMIT_HOME; only `try-repo` builds its own.

The hooks index tasks from the whole repository (`--workers .`) and check or rewrite only the
files pre-commit passes: the tests commit a worker and a producer, then pass the producer alone.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import FIXTURES, ROOT

MISSING = """\
from proj.celery import app


def signup(user_id):
    app.send_task("proj.emails.send_welcome", args=[user_id])
"""
FIXED_CALL = (
    'app.send_task("proj.emails.send_welcome", args=[user_id], '
    "ignore_result=True, priority=3, expires=3600)"
)
CLEAN = MISSING.replace('app.send_task("proj.emails.send_welcome", args=[user_id])', FIXED_CALL)


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GIT_", "PRE_COMMIT"))}
    env.update(
        PRE_COMMIT_HOME=str(home),
        XDG_CACHE_HOME=str(home / "xdg-cache"),  # celery-codemod's scan cache
        PRE_COMMIT_COLOR="never",
        GIT_AUTHOR_NAME="Test",
        GIT_AUTHOR_EMAIL="test@example.com",
        GIT_COMMITTER_NAME="Test",
        GIT_COMMITTER_EMAIL="test@example.com",
        GIT_CONFIG_GLOBAL=os.devnull,
        GIT_CONFIG_NOSYSTEM="1",
    )
    return env


@dataclass(frozen=True)
class Hooks:
    repo: Path
    rev: str
    home: Path

    def run(self, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            args, cwd=cwd, env=_env(self.home), capture_output=True, text=True, timeout=600
        )

    def git(self, cwd: Path, *args: str) -> str:
        completed = self.run(cwd, "git", *args)
        assert completed.returncode == 0, completed.stderr
        return completed.stdout

    def pre_commit(self, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
        return self.run(cwd, sys.executable, "-m", "pre_commit", *args)


@pytest.fixture(scope="module")
def hooks(tmp_path_factory: pytest.TempPathFactory) -> Hooks:
    """This project as a hook repository: its files, committed in a new git repository."""
    base = tmp_path_factory.mktemp("precommit")
    repo = base / "celery-codemod"
    repo.mkdir()
    for name in ("pyproject.toml", "README.md", ".pre-commit-hooks.yaml"):
        shutil.copy2(ROOT / name, repo / name)
    for extra in (*ROOT.glob("LICENSE*"), *ROOT.glob("COPYING*")):
        shutil.copy2(extra, repo / extra.name)
    shutil.copytree(
        ROOT / "codemods", repo / "codemods", ignore=shutil.ignore_patterns("__pycache__")
    )
    made = Hooks(repo, "", base / "pre-commit-home")
    made.git(repo, "init", "-q", "-b", "main")
    made.git(repo, "add", "-A")
    made.git(repo, "commit", "-q", "-m", "hooks")
    return Hooks(repo, made.git(repo, "rev-parse", "HEAD").strip(), made.home)


def make_project(hooks: Hooks, root: Path, producer: str, *hook_ids: str) -> Path:
    """A git repository with the demo worker, one producer file and a pre-commit config."""
    shutil.copytree(FIXTURES / "demo" / "worker", root / "worker")
    (root / "producer").mkdir()
    (root / "producer" / "calls.py").write_text(producer)
    config = [f"repos:\n- repo: {hooks.repo}\n  rev: {hooks.rev}\n  hooks:\n"]
    config += [f"  - id: {hook_id}\n" for hook_id in hook_ids]
    (root / ".pre-commit-config.yaml").write_text("".join(config))
    hooks.git(root, "init", "-q", "-b", "main")
    hooks.git(root, "add", "-A")
    hooks.git(root, "commit", "-q", "-m", "initial")
    return root


def test_try_repo_check_fails_on_a_missing_option_and_names_the_file(
    hooks: Hooks, tmp_path: Path
) -> None:
    project = make_project(hooks, tmp_path / "project", MISSING)
    result = hooks.pre_commit(project, "try-repo", str(hooks.repo), "celery-codemod", "--all-files")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "celery-codemod (check send_task options)" in result.stdout
    assert "Failed" in result.stdout
    assert "would rewrite producer/calls.py" in result.stdout
    assert (project / "producer" / "calls.py").read_text() == MISSING  # --check writes nothing


def test_check_indexes_the_whole_repository_when_given_one_file(
    hooks: Hooks, tmp_path: Path
) -> None:
    project = make_project(hooks, tmp_path / "project", MISSING, "celery-codemod")
    result = hooks.pre_commit(project, "run", "celery-codemod", "--files", "producer/calls.py")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "would rewrite producer/calls.py" in result.stdout
    # The diff (--diff) shows what the worker declares: the index came from worker/.
    assert f"+    {FIXED_CALL}" in result.stdout
    assert "unknown-task" not in result.stdout


def test_check_passes_on_a_clean_tree(hooks: Hooks, tmp_path: Path) -> None:
    project = make_project(hooks, tmp_path / "project", CLEAN, "celery-codemod")
    result = hooks.pre_commit(project, "run", "celery-codemod", "--all-files")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "celery-codemod (check send_task options)" in result.stdout
    assert "Passed" in result.stdout


def test_fix_hook_rewrites_the_file_then_the_check_passes(hooks: Hooks, tmp_path: Path) -> None:
    project = make_project(
        hooks, tmp_path / "project", MISSING, "celery-codemod", "celery-codemod-fix"
    )
    calls = project / "producer" / "calls.py"
    fixed = hooks.pre_commit(project, "run", "celery-codemod-fix", "--files", "producer/calls.py")
    assert fixed.returncode == 1, fixed.stdout + fixed.stderr
    assert "files were modified by this hook" in fixed.stdout
    assert "rewrote producer/calls.py" in fixed.stdout
    assert calls.read_text() == CLEAN
    assert hooks.git(project, "status", "--porcelain") == " M producer/calls.py\n"

    hooks.git(project, "add", "producer/calls.py")
    again = hooks.pre_commit(project, "run", "--all-files")
    assert again.returncode == 0, again.stdout + again.stderr
    assert calls.read_text() == CLEAN


def test_git_commit_is_refused_until_the_options_are_added(hooks: Hooks, tmp_path: Path) -> None:
    project = make_project(hooks, tmp_path / "project", CLEAN, "celery-codemod")
    installed = hooks.pre_commit(project, "install")
    assert installed.returncode == 0, installed.stdout + installed.stderr
    calls = project / "producer" / "calls.py"
    calls.write_text(
        CLEAN
        + "\n\ndef again(user_id):\n    app.send_task('proj.emails.send_digest', args=[user_id])\n"
    )
    hooks.git(project, "add", "producer/calls.py")

    refused = hooks.run(project, "git", "commit", "-q", "-m", "a new call")
    assert refused.returncode != 0
    output = refused.stdout + refused.stderr
    assert "would rewrite producer/calls.py" in output
    assert re.search(r"^\+.*send_digest.*queue=[\"']mail[\"']\)$", output, re.MULTILINE), output

    calls.write_text(
        calls.read_text().replace("args=[user_id])\n", "args=[user_id], queue='mail')\n")
    )
    hooks.git(project, "add", "producer/calls.py")
    accepted = hooks.run(project, "git", "commit", "-q", "-m", "a new call")
    assert accepted.returncode == 0, accepted.stdout + accepted.stderr
