"""`--patches` and `--write` across repositories, with real git: complete, uniquely named patch sets
that apply where they belong, and a dirty-tree check that holds for every path or refuses."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from codemods.gitpatch import parse_codeowners, unique_names
from tests.conftest import git, run_cli

WORKER = 'from celery import Celery\napp = Celery("p")\n@app.task(queue="q")\ndef add(*a): pass\n'
CALL = 'from proj.celery import app\napp.send_task("proj.celery.add", args=[1])\n'
CALLED = 'from proj.celery import app\napp.send_task("proj.celery.add", args=[1], queue="q")\n'


@pytest.fixture(autouse=True)
def hermetic_git(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(tmp_path / "gitconfig"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("GIT_AUTHOR_NAME", "Test")
    monkeypatch.setenv("GIT_AUTHOR_EMAIL", "test@example.com")
    monkeypatch.setenv("GIT_COMMITTER_NAME", "Test")
    monkeypatch.setenv("GIT_COMMITTER_EMAIL", "test@example.com")
    (tmp_path / "gitconfig").write_text('[protocol "file"]\n\tallow = always\n')


def make_repo(path: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (path / name).parent.mkdir(parents=True, exist_ok=True)
        (path / name).write_text(text, encoding="utf-8")
    git(path, "init", "-q", "-b", "main")
    git(path, "add", "-A")
    git(path, "commit", "-q", "-m", "initial")
    return path


def git_am(repo: Path, *patches: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["git", "am", *map(str, patches)], cwd=repo, capture_output=True, text=True, check=False
    )


def clone(source: Path, target: Path) -> Path:
    git(source.parent, "clone", "-q", str(source), str(target))
    return target


# -- names ---------------------------------------------------------------------------------------


def test_groups_whose_slugs_collide_get_distinct_patch_files(tmp_path: Path, in_dir) -> None:
    folders = ["svc/a b", "svc/a-b", "日本", "中国", "."]
    files = {"proj/__init__.py": "", "proj/celery.py": WORKER}
    files |= {f"{folder}/p.py": CALL for folder in folders}
    repo = in_dir(make_repo(tmp_path / "repo", files))
    result = run_cli("fix", "--patches", tmp_path / "out", ".")
    assert result.exit_code == 0, result.stderr
    patches = sorted((tmp_path / "out").iterdir())
    assert len(patches) == 5
    assert "celery-codemod-root.patch" in [p.name for p in patches]
    assert len({p.name.casefold() for p in patches}) == 5
    for patch in patches:  # each applies alone to a clean clone
        target = clone(repo, tmp_path / f"clone-{patch.stem}")
        applied = git_am(target, patch)
        assert applied.returncode == 0, applied.stderr
    together = clone(repo, tmp_path / "together")
    assert git_am(together, *patches).returncode == 0
    for folder in folders:
        assert (together / folder / "p.py").read_text(encoding="utf-8") == CALLED
    again = run_cli("fix", "--patches", tmp_path / "again", ".")
    assert again.exit_code == 0
    assert {p.name: p.read_bytes() for p in (tmp_path / "again").iterdir()} == {
        p.name: p.read_bytes() for p in patches
    }


def test_unique_names_depend_only_on_the_labels() -> None:
    names = unique_names(["svc/a b", "svc/a-b", "svc/billing", ".", "日本", "Svc/Billing"])
    assert names["."] == "root"
    assert names["svc/a b"] != names["svc/a-b"]
    assert names["svc/a b"].startswith("svc-a-b-")
    assert names["日本"] and names["日本"].isascii()
    assert names["svc/billing"] != names["Svc/Billing"]  # distinct where case does not count
    assert unique_names(["svc/billing", "x"])["svc/billing"] == "svc-billing"
    assert unique_names(list(reversed(list(names)))) == names
    # a folder named like another group's hashed name still gets its own file
    hashed = names["svc/a b"]
    crowded = unique_names(["svc/a b", "svc/a-b", hashed])
    assert len(set(crowded.values())) == 3
    long = unique_names(["x" * 300])["x" * 300]
    assert len(long) < 100


def test_the_repository_root_and_a_folder_named_root_do_not_collide() -> None:
    names = unique_names([".", "root"])
    assert names["."] != names["root"]


# -- outside the repository, other repositories ----------------------------------------------


def test_a_path_in_no_repository_is_a_usage_error(tmp_path: Path, in_dir) -> None:
    make_repo(tmp_path / "repo", {"proj/__init__.py": "", "proj/celery.py": WORKER})
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "p.py").write_text(CALL)
    in_dir(tmp_path / "repo")
    result = run_cli("fix", "--patches", tmp_path / "out", "../other", "--workers", "proj")
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines()[-1] == (
        "celery-codemod: error: not making patches: --patches needs a git repository; "
        "../other/p.py is not in one"
    )
    assert not (tmp_path / "out").exists()


def test_a_submodule_gets_its_own_patch_set_that_applies_in_it(tmp_path: Path, in_dir) -> None:
    make_repo(tmp_path / "subsrc", {"p.py": CALL})
    sup = make_repo(
        tmp_path / "super", {"proj/__init__.py": "", "proj/celery.py": WORKER, "top.py": CALL}
    )
    git(sup, "-c", "protocol.file.allow=always", "submodule", "add", "-q", "../subsrc", "sub")
    git(sup, "commit", "-q", "-m", "sub")
    in_dir(sup)
    result = run_cli("fix", "--patches", tmp_path / "out", "sub", "top.py", "--workers", "proj")
    assert result.exit_code == 0, result.stderr
    assert f"wrote {tmp_path / 'out' / 'sub' / 'celery-codemod-root.patch'} (apply it in sub)" in (
        result.stderr
    )
    own = tmp_path / "out" / "celery-codemod-root.patch"
    sub_patch = tmp_path / "out" / "sub" / "celery-codemod-root.patch"
    assert "diff --git a/top.py b/top.py" in own.read_text()
    assert "diff --git a/p.py b/p.py" in sub_patch.read_text()  # relative to the submodule
    super_clone = clone(sup, tmp_path / "super-clone")
    assert git_am(super_clone, own).returncode == 0
    sub_clone = clone(tmp_path / "subsrc", tmp_path / "sub-clone")
    applied = git_am(sub_clone, sub_patch)
    assert applied.returncode == 0, applied.stderr
    assert (sub_clone / "p.py").read_text() == CALLED


def test_a_nested_repository_gets_its_own_patch_set(tmp_path: Path, in_dir) -> None:
    outer = make_repo(tmp_path / "outer", {"proj/__init__.py": "", "proj/celery.py": WORKER})
    make_repo(outer / "vendor" / "inner", {"svc/p.py": CALL})
    in_dir(outer)
    result = run_cli("fix", "--patches", tmp_path / "out", "vendor/inner", "--workers", "proj")
    assert result.exit_code == 0, result.stderr
    [patch] = (tmp_path / "out" / "vendor-inner").iterdir()
    assert "diff --git a/svc/p.py b/svc/p.py" in patch.read_text()
    inner_clone = clone(outer / "vendor" / "inner", tmp_path / "inner-clone")
    assert git_am(inner_clone, patch).returncode == 0


# -- CODEOWNERS ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "why"),
    [
        (b"svc/ @caf\xe9", "not UTF-8"),
        (b"\\ @y", "is not a valid pattern"),
        (b"!svc/ @y", "negation (!) is not supported"),
        (b"svc/[ab]/ @y", "character ranges ([ ]) are not supported"),
        (b"svc/ team-without-at", "is not an owner"),
    ],
)
def test_a_bad_codeowners_line_is_reported_and_skipped(
    tmp_path: Path, in_dir, line: bytes, why: str
) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "CODEOWNERS").write_bytes(b"* @team\n" + line + b"\nother/ @other\n")
    make_repo(repo, {"proj/__init__.py": "", "proj/celery.py": WORKER, "svc/p.py": CALL})
    in_dir(repo)
    result = run_cli("fix", "--patches", tmp_path / "out", "--split-by", "codeowners", ".")
    assert result.exit_code == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert "CODEOWNERS:2: warning invalid-codeowners: CODEOWNERS line skipped: " in result.stderr
    assert why in result.stderr
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["celery-codemod-team.patch"]


def test_codeowners_parsing_keeps_the_good_lines() -> None:
    rules, problems = parse_codeowners(
        b"# owners\n*  @org/platform\n/docs/ docs@example.com\nunowned/\n!x @a\n", "CODEOWNERS"
    )
    assert rules == [("*", ("@org/platform",)), ("/docs/", ("docs@example.com",)), ("unowned/", ())]
    assert [(d.line, d.code) for d in problems] == [(5, "invalid-codeowners")]


def test_github_reads_the_github_folder_first(tmp_path: Path, in_dir) -> None:
    repo = tmp_path / "repo"
    (repo / ".github").mkdir(parents=True)
    (repo / ".github" / "CODEOWNERS").write_text("* @from-github-folder\n")
    (repo / "CODEOWNERS").write_text("* @from-root\n")
    make_repo(repo, {"proj/__init__.py": "", "proj/celery.py": WORKER, "svc/p.py": CALL})
    in_dir(repo)
    run_cli("fix", "--patches", tmp_path / "out", "--split-by", "codeowners", ".")
    assert [p.name for p in (tmp_path / "out").iterdir()] == [
        "celery-codemod-from-github-folder.patch"
    ]


# -- uncommitted changes -------------------------------------------------------------------------


def test_patches_of_a_dirty_file_are_made_from_head_and_apply_to_a_clean_checkout(
    tmp_path: Path, in_dir
) -> None:
    repo = make_repo(
        tmp_path / "repo", {"proj/__init__.py": "", "proj/celery.py": WORKER, "svc/p.py": CALL}
    )
    in_dir(repo)
    (repo / "svc" / "p.py").write_text(CALL.replace("args=[1]", "args=[2]"))  # work in progress
    result = run_cli("fix", "--patches", tmp_path / "out", ".")
    assert result.exit_code == 0, result.stderr
    assert (
        "these files have uncommitted changes: their patches are made from HEAD's version, "
        "without those changes:\n  svc/p.py\n"
    ) in result.stderr
    assert (repo / "svc" / "p.py").read_text() == CALL.replace("args=[1]", "args=[2]")
    [patch] = (tmp_path / "out").iterdir()
    checkout = clone(repo, tmp_path / "clean")
    applied = git_am(checkout, patch)
    assert applied.returncode == 0, applied.stderr
    assert (checkout / "svc" / "p.py").read_text() == CALLED


def test_a_changed_file_that_head_lacks_is_left_out_and_the_exit_is_1(
    tmp_path: Path, in_dir
) -> None:
    repo = make_repo(
        tmp_path / "repo", {"proj/__init__.py": "", "proj/celery.py": WORKER, "svc/p.py": CALL}
    )
    in_dir(repo)
    (repo / "svc" / "new.py").write_text(CALL)  # untracked
    result = run_cli("fix", "--patches", tmp_path / "out", ".")
    assert result.exit_code == 1
    assert (
        "svc/new.py:1: error read-error: left out of the patches: HEAD does not have this file"
        in result.stderr
    )
    [patch] = (tmp_path / "out").iterdir()
    assert "svc/new.py" not in patch.read_text()


def test_patches_exit_1_when_a_file_is_left_out(tmp_path: Path, in_dir) -> None:
    repo = make_repo(
        tmp_path / "repo",
        {
            "proj/__init__.py": "",
            "proj/celery.py": WORKER,
            "svc/p.py": CALL,
            "svc/broken.py": "app.send_task('proj.celery.add'\n",
        },
    )
    in_dir(repo)
    result = run_cli("fix", "--patches", tmp_path / "out", ".")
    assert result.exit_code == 1
    assert "svc/broken.py:1: error parse-error" in result.stderr
    assert len(list((tmp_path / "out").iterdir())) == 1


def test_write_refuses_dirty_files_in_every_repository(tmp_path: Path, in_dir) -> None:
    for name in ("a", "b"):
        make_repo(tmp_path / name, {"p.py": CALL})
        with (tmp_path / name / "p.py").open("a") as file:
            file.write("# uncommitted work\n")
    (tmp_path / "w" / "proj").mkdir(parents=True)
    (tmp_path / "w" / "proj" / "__init__.py").write_text("")
    (tmp_path / "w" / "proj" / "celery.py").write_text(WORKER)
    in_dir(tmp_path)
    result = run_cli("fix", "--write", "a", "b", "--workers", "w")
    assert result.exit_code == 2
    assert "not writing: these files have uncommitted changes" in result.stderr
    assert "  a/p.py\n  b/p.py\n" in result.stderr
    assert 'queue="q"' not in (tmp_path / "a" / "p.py").read_text()
    assert 'queue="q"' not in (tmp_path / "b" / "p.py").read_text()


def test_write_refuses_a_dirty_file_beside_a_submodule(tmp_path: Path, in_dir) -> None:
    make_repo(tmp_path / "subsrc", {"p.py": CALL})
    sup = make_repo(
        tmp_path / "super", {"proj/__init__.py": "", "proj/celery.py": WORKER, "svc/x.py": CALL}
    )
    git(sup, "-c", "protocol.file.allow=always", "submodule", "add", "-q", "../subsrc", "sub")
    git(sup, "commit", "-q", "-m", "sub")
    in_dir(sup)
    with (sup / "svc" / "x.py").open("a") as file:
        file.write("# uncommitted work\n")
    result = run_cli("fix", "--write", "svc", "sub", "--workers", "proj")
    assert result.exit_code == 2, result.stderr
    assert "  svc/x.py\n" in result.stderr
    assert "sub/p.py" not in result.stderr  # clean in its own repository
    assert 'queue="q"' not in (sup / "svc" / "x.py").read_text()
    assert 'queue="q"' not in (sup / "sub" / "p.py").read_text()


def test_a_repository_git_cannot_read_is_refused(tmp_path: Path, in_dir) -> None:
    (tmp_path / "w" / "proj").mkdir(parents=True)
    (tmp_path / "w" / "proj" / "__init__.py").write_text("")
    (tmp_path / "w" / "proj" / "celery.py").write_text(WORKER)
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / ".git").write_text("gitdir: /nonexistent/modules/broken\n")
    (broken / "p.py").write_text(CALL)
    in_dir(tmp_path)
    result = run_cli("fix", "--write", "broken/p.py", "--workers", "w")
    assert result.exit_code == 2
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith(
        "celery-codemod: error: not writing: cannot tell which files have uncommitted changes: "
    )
    assert "broken: git cannot read this repository" in last
    assert (broken / "p.py").read_text() == CALL


def test_write_outside_git_still_writes(tmp_path: Path, in_dir) -> None:
    (tmp_path / "proj").mkdir()
    (tmp_path / "proj" / "__init__.py").write_text("")
    (tmp_path / "proj" / "celery.py").write_text(WORKER)
    (tmp_path / "p.py").write_text(CALL)
    in_dir(tmp_path)
    assert run_cli("fix", "--write", ".").exit_code == 0
    assert (tmp_path / "p.py").read_text() == CALLED


# -- what git am needs ---------------------------------------------------------------------------


def test_a_patch_to_a_crlf_file_applies_with_git_am(tmp_path: Path, in_dir) -> None:
    crlf = CALL.replace("\n", "\r\n")
    repo = make_repo(
        tmp_path / "repo", {"proj/__init__.py": "", "proj/celery.py": WORKER, "svc/p.py": ""}
    )
    (repo / "svc" / "p.py").write_bytes(crlf.encode())
    git(repo, "commit", "-q", "-a", "-m", "crlf")
    in_dir(repo)
    assert run_cli("fix", "--patches", tmp_path / "out", ".").exit_code == 0
    [patch] = (tmp_path / "out").iterdir()
    checkout = clone(repo, tmp_path / "clean")
    applied = git_am(checkout, patch)
    assert applied.returncode == 0, applied.stderr
    assert (checkout / "svc" / "p.py").read_bytes() == CALLED.replace("\n", "\r\n").encode()


@pytest.mark.parametrize("folder", ["tab\tname", 'quote"d', "back\\slash", "new\nline"])
def test_paths_git_quotes_are_quoted_in_patches(tmp_path: Path, in_dir, folder: str) -> None:
    repo = make_repo(
        tmp_path / "repo",
        {"proj/__init__.py": "", "proj/celery.py": WORKER, f"{folder}/p.py": CALL},
    )
    in_dir(repo)
    assert run_cli("fix", "--patches", tmp_path / "out", ".").exit_code == 0
    [patch] = (tmp_path / "out").iterdir()
    checkout = clone(repo, tmp_path / "clean")
    applied = git_am(checkout, patch)
    assert applied.returncode == 0, applied.stderr
    assert (checkout / folder / "p.py").read_text() == CALLED


def test_write_refuses_an_ignored_file_named_explicitly(tmp_path: Path, in_dir) -> None:
    repo = make_repo(
        tmp_path / "repo",
        {"proj/__init__.py": "", "proj/celery.py": WORKER, ".gitignore": "gen/\n"},
    )
    (repo / "gen").mkdir()
    (repo / "gen" / "calls.py").write_text(CALL)  # never committed: git ignores it
    in_dir(repo)
    result = run_cli("fix", "--write", "gen/calls.py", "--workers", "proj")
    assert result.exit_code == 2
    assert "not writing: these files have uncommitted changes" in result.stderr
    assert "  gen/calls.py\n" in result.stderr
    assert (repo / "gen" / "calls.py").read_text() == CALL
