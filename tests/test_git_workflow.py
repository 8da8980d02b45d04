"""The git-native workflow with real git: patches per team, discovery, safe writes, configuration."""

from __future__ import annotations

import os
import pty
import re
import shutil
import subprocess
import sys
from pathlib import Path

import git
import pytest

from codemods.files import read_source, write_result
from codemods.model import FileResult
from tests.conftest import FIXTURES, init_repo, run_cli
from tests.conftest import git as run_git


@pytest.fixture
def repo(tmp_path: Path, in_dir, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The demo in a git repository with one commit, as the working directory."""
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(tmp_path / "gitconfig"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    work = tmp_path / "repo"
    shutil.copytree(FIXTURES / "demo", work, ignore=shutil.ignore_patterns("expected.*"))
    init_repo(work)
    return in_dir(work)


def tree_of(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*.py"))}


def clean_clone(source: Path, target: Path) -> git.Repo:
    clone = git.Repo.clone_from(str(source), str(target))
    with clone.config_writer() as config:
        config.set_value("user", "name", "Reviewer")
        config.set_value("user", "email", "reviewer@example.com")
    return clone


# -- patches -------------------------------------------------------------------------------------


def test_patches_one_per_directory_apply_alone_and_together(repo: Path, tmp_path: Path) -> None:
    before = tree_of(repo)
    result = run_cli("fix", "--patches", tmp_path / "out")
    assert result.exit_code == 1, result.stderr  # as --write: the demo keeps an argument-mismatch
    assert tree_of(repo) == before, "the working tree is not touched"
    patches = sorted((tmp_path / "out").iterdir())
    assert [p.name for p in patches] == [
        "celery-codemod-producers-api.patch",
        "celery-codemod-producers-batch.patch",
    ]
    text = patches[0].read_text()
    assert (
        "Subject: [PATCH] celery-codemod: add missing send_task options in producers/api\n" in text
    )
    assert (
        "- producers/api/signup.py:7: proj.emails.send_welcome: ignore_result=True, priority=3, expires=3600\n"
        in text
    )
    assert "From: celery-codemod <celery-codemod@localhost>\n" in text  # no identity configured

    for index, patch in enumerate(patches):
        alone = clean_clone(repo, tmp_path / f"alone-{index}")
        alone.git.am(str(patch))
        assert alone.head.commit.message.startswith("celery-codemod: add missing send_task options")
        checked = clean_clone(repo, tmp_path / f"apply-{index}")
        checked.git.apply("--check", str(patch))

    together = clean_clone(repo, tmp_path / "together")
    together.git.am(*map(str, patches))
    written = clean_clone(repo, tmp_path / "written")
    os.chdir(written.working_tree_dir)
    assert run_cli("fix", "--write").exit_code == 1  # the demo keeps its argument-mismatch error
    assert tree_of(tmp_path / "together") == tree_of(tmp_path / "written")


def test_patches_are_byte_identical_across_runs_and_use_heads_date(
    repo: Path, tmp_path: Path
) -> None:
    run_cli("fix", "--patches", tmp_path / "one")
    run_cli("fix", "--patches", tmp_path / "two")
    one = {p.name: p.read_bytes() for p in (tmp_path / "one").iterdir()}
    two = {p.name: p.read_bytes() for p in (tmp_path / "two").iterdir()}
    assert one == two
    head_date = git.Repo(repo).head.commit.committed_datetime
    from email.utils import format_datetime

    assert f"Date: {format_datetime(head_date)}\n".encode() in next(iter(one.values()))


def test_patches_use_the_git_identity_when_configured(repo: Path, tmp_path: Path) -> None:
    run_git(repo, "config", "user.name", "Platform Team")
    run_git(repo, "config", "user.email", "platform@example.com")
    run_cli("fix", "--patches", tmp_path / "out")
    assert all(
        "From: Platform Team <platform@example.com>\n" in p.read_text()
        for p in (tmp_path / "out").iterdir()
    )


def test_split_depth(repo: Path, tmp_path: Path) -> None:
    run_cli("fix", "--patches", tmp_path / "out", "--split-depth", "1")
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["celery-codemod-producers.patch"]


def test_split_by_codeowners_last_matching_rule_wins(repo: Path, tmp_path: Path) -> None:
    (repo / ".github").mkdir()
    (repo / ".github" / "CODEOWNERS").write_text(
        "# owners\n*  @org/platform\n/producers/  @org/web\nproducers/batch/*.py  @org/data @org/ops\n"
    )
    run_git(repo, "add", "-A")
    run_git(repo, "commit", "-q", "-m", "owners")
    result = run_cli("fix", "--patches", tmp_path / "out", "--split-by", "codeowners")
    assert result.exit_code == 1, result.stderr  # as --write: the demo keeps an argument-mismatch
    patches = {p.name: p.read_text() for p in (tmp_path / "out").iterdir()}
    assert sorted(patches) == [
        "celery-codemod-org-data-org-ops.patch",
        "celery-codemod-org-web.patch",
    ]
    assert "options in @org/data @org/ops\n" in patches["celery-codemod-org-data-org-ops.patch"]
    assert "producers/batch/jobs.py" in patches["celery-codemod-org-data-org-ops.patch"]
    assert "producers/batch" not in patches["celery-codemod-org-web.patch"]


def test_patches_outside_git_exit_2(tmp_path: Path, in_dir) -> None:
    shutil.copytree(FIXTURES / "demo", tmp_path / "demo")
    in_dir(tmp_path / "demo")
    result = run_cli("fix", "--patches", tmp_path / "out")
    assert result.exit_code == 2
    assert "--patches needs a git repository" in result.stderr


# -- discovery -----------------------------------------------------------------------------------


def test_discovery_follows_git(repo: Path) -> None:
    (repo / ".gitignore").write_text("generated/\n")
    (repo / "generated").mkdir()
    (repo / "generated" / "calls.py").write_text(
        "app.send_task('proj.billing.charge', args=[1, 2])\n"
    )
    (repo / "producers" / "new.py").write_text(
        "app.send_task('proj.billing.charge', args=[1, 2])\n"
    )
    result = run_cli("fix", "--format", "json")
    import json

    paths = {c["path"] for c in json.loads(result.stdout)["changes"]}
    assert "producers/new.py" in paths, "untracked files that are not ignored are processed"
    assert "generated/calls.py" not in paths, "ignored files are skipped"
    explicit = run_cli("fix", "generated/calls.py", "--workers", "worker", "--format", "json")
    assert [c["path"] for c in json.loads(explicit.stdout)["changes"]] == ["generated/calls.py"]
    excluded = run_cli("fix", "--exclude", "producers/api/*", "--format", "json")
    assert not any(
        c["path"].startswith("producers/api/") for c in json.loads(excluded.stdout)["changes"]
    )


def test_discovery_outside_git_skips_virtualenvs_and_build_folders(tmp_path: Path, in_dir) -> None:
    shutil.copytree(
        FIXTURES / "demo", tmp_path / "demo", ignore=shutil.ignore_patterns("expected.*")
    )
    in_dir(tmp_path / "demo")
    call = "app.send_task('proj.billing.charge', args=[1, 2])\n"
    for folder in ("build", "node_modules", ".tox", "env/lib"):
        (tmp_path / "demo" / folder).mkdir(parents=True)
        (tmp_path / "demo" / folder / "x.py").write_text(call)
    (tmp_path / "demo" / "env" / "pyvenv.cfg").write_text("home = /usr\n")
    import json

    paths = {c["path"] for c in json.loads(run_cli("fix", "--format", "json").stdout)["changes"]}
    assert paths == {"producers/api/signup.py", "producers/api/views.py", "producers/batch/jobs.py"}


# -- safe writes ---------------------------------------------------------------------------------


def test_write_refuses_files_with_uncommitted_changes(repo: Path) -> None:
    views = repo / "producers" / "api" / "views.py"
    views.write_text(views.read_text() + "\n# work in progress\n")
    before = tree_of(repo)
    result = run_cli("fix", "--write")
    assert result.exit_code == 2
    assert "not writing: these files have uncommitted changes" in result.stderr
    assert "  producers/api/views.py\n" in result.stderr
    assert "signup.py" not in result.stderr
    assert tree_of(repo) == before, "nothing is written"
    allowed = run_cli("fix", "--write", "--allow-dirty")
    assert allowed.exit_code == 1
    assert views.read_text().endswith("# work in progress\n")
    assert "ignore_result=True" in views.read_text()


def test_write_keeps_the_mode_and_leaves_no_temporary_file(repo: Path) -> None:
    jobs = repo / "producers" / "batch" / "jobs.py"
    jobs.chmod(0o750)
    run_git(repo, "commit", "-q", "-am", "mode")
    run_cli("fix", "--write")
    assert jobs.stat().st_mode & 0o777 == 0o750
    assert sorted(p.name for p in jobs.parent.iterdir()) == ["jobs.py"]


def test_a_file_changed_after_it_was_read_is_not_overwritten(tmp_path: Path) -> None:
    path = tmp_path / "calls.py"
    path.write_text("app.send_task('x')\n")
    source = read_source(path)
    assert not isinstance(source, type(None))
    path.write_text("app.send_task('x')  # edited meanwhile\n")
    result = FileResult(str(path), "app.send_task('x')\n", "app.send_task('x', queue='q')\n")
    failure = write_result(result, source)  # type: ignore[arg-type]
    assert failure is not None and failure.code == "write-error"
    assert "changed since it was read" in failure.message
    assert path.read_text() == "app.send_task('x')  # edited meanwhile\n"


def test_write_never_writes_through_a_symlink(tmp_path: Path) -> None:
    real = tmp_path / "real.py"
    real.write_text("app.send_task('x')\n")
    link = tmp_path / "link.py"
    link.symlink_to(real)
    source = read_source(link)
    result = FileResult(str(link), "app.send_task('x')\n", "app.send_task('x', queue='q')\n")
    failure = write_result(result, source)  # type: ignore[arg-type]
    assert failure is not None and "symlink" in failure.message
    assert real.read_text() == "app.send_task('x')\n"


# -- configuration -------------------------------------------------------------------------------


def test_configuration_in_pyproject_is_found_walking_up(repo: Path, in_dir) -> None:
    (repo / "pyproject.toml").write_text(
        '[tool.celery-codemod]\nworkers = ["worker"]\noptions = ["queue"]\n'
        'severity = { "unknown-task" = "error" }\n'
    )
    in_dir(repo / "producers")
    result = run_cli("fix", "--format", "json")
    import json

    document = json.loads(result.stdout)
    assert document["summary"]["tasks_indexed"] == 8, "workers from the file, relative to it"
    assert all(set(c["added"]) == {"queue"} for c in document["changes"])
    assert {d["code"]: d["severity"] for d in document["diagnostics"]}["unknown-task"] == "error"
    cli_wins = json.loads(run_cli("fix", "--format", "json", "--options", "ignore_result").stdout)
    assert all(set(c["added"]) == {"ignore_result"} for c in cli_wins["changes"])


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ("colour = true", "unknown key 'colour'"),
        ("workers = 3", "workers: expected a string or a list of strings"),
        ("split-depth = -1", "split-depth: expected a whole number >= 0"),
        (
            'severity = { "unknown-task" = "loud" }',
            "severity: expected a table of diagnostic codes",
        ),
        (
            'severity = { "no-such-code" = "error" }',
            "severity.no-such-code: expected a diagnostic code",
        ),
        ("strict = 'yes'", "strict: expected true or false"),
    ],
)
def test_invalid_configuration_exits_2_naming_the_key(repo: Path, table: str, message: str) -> None:
    (repo / "pyproject.toml").write_text(f"[tool.celery-codemod]\n{table}\n")
    result = run_cli("fix", "--check")
    assert result.exit_code == 2
    assert "pyproject.toml: [tool.celery-codemod]" in result.stderr
    assert message in result.stderr


def test_strict_makes_warnings_errors(repo: Path) -> None:
    assert run_cli("fix", "--write", "--allow-dirty").exit_code == 1
    run_git(repo, "commit", "-q", "-am", "fixed")
    jobs = repo / "producers" / "batch" / "jobs.py"
    jobs.write_text(jobs.read_text().replace("args=[account.id]", "args=[account.id, 1]"))
    assert run_cli("fix", "--check").exit_code == 0, "only warnings are left"
    strict = run_cli("fix", "--check", "--strict")
    assert strict.exit_code == 1
    assert re.search(r"^producers/api/views.py:\d+: error unknown-task: ", strict.stderr, re.M)


# -- terminal output -----------------------------------------------------------------------------


def _run_on_terminal(args: list[str], cwd: Path, env: dict[str, str]) -> tuple[str, str]:
    """Run the CLI with stdout and stderr on a pseudo-terminal each; return what they showed."""
    out_master, out_slave = pty.openpty()
    err_master, err_slave = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "codemods", *args],
        cwd=cwd,
        stdout=out_slave,
        stderr=err_slave,
        env=env,
    )
    os.close(out_slave)
    os.close(err_slave)
    chunks: dict[int, bytes] = {out_master: b"", err_master: b""}
    open_fds = set(chunks)
    import select

    while open_fds:
        ready, _, _ = select.select(list(open_fds), [], [], 30)
        for fd in ready:
            try:
                data = os.read(fd, 65536)
            except OSError:
                data = b""
            if data:
                chunks[fd] += data
            else:
                open_fds.discard(fd)
    process.wait(timeout=60)
    return chunks[out_master].decode(), chunks[err_master].decode()


def test_color_and_progress_on_a_terminal_only(repo: Path) -> None:
    for i in range(600):
        (repo / "producers" / f"module_{i}.py").write_text("x = 1\n")
    env = {**os.environ, "TERM": "xterm"}
    env.pop("NO_COLOR", None)
    out, err = _run_on_terminal(["fix"], repo, env)
    assert "\x1b[32m+" in out, "the diff is colored on a terminal"
    assert "celery-codemod" in err and "%" in err, "a progress bar on stderr"
    plain = subprocess.run(
        [sys.executable, "-m", "codemods", "fix"],
        cwd=repo,
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert "\x1b[" not in plain.stdout + plain.stderr, "plain when piped"
    assert "%" not in plain.stderr
    out, err = _run_on_terminal(["fix"], repo, {**env, "NO_COLOR": "1"})
    assert "\x1b[3" not in out, "NO_COLOR turns color off"
