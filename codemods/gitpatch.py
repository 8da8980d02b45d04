"""One git patch per owning directory (or CODEOWNERS owner set), as `git format-patch` mails.

Each patch applies alone with `git am` or `git apply` on a clean checkout; together they give the
same tree as `--write`. The output is byte-identical across runs: the Date is HEAD's committer
date and the author is the repository's git identity, or a fixed one when none is configured.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Sequence
from contextlib import suppress
from dataclasses import dataclass
from email.utils import format_datetime
from pathlib import Path, PurePosixPath

from codemods import __version__
from codemods.diff import unified_diff
from codemods.model import FileResult
from codemods.report import Report

DEFAULT_AUTHOR = ("celery-codemod", "celery-codemod@localhost")
EPOCH_DATE = "Thu, 1 Jan 1970 00:00:00 +0000"
CODEOWNERS_PLACES = ("CODEOWNERS", ".github/CODEOWNERS", "docs/CODEOWNERS", ".gitlab/CODEOWNERS")


class PatchError(Exception):
    """Patches cannot be made here (no git repository); the message says why."""


@dataclass(frozen=True)
class RepoInfo:
    root: Path
    date: str  # RFC 2822
    author: tuple[str, str]


@dataclass(frozen=True)
class Patch:
    group: str  # a directory, or an owner set
    filename: str
    text: str


def repo_info(start: Path) -> RepoInfo:
    """The repository holding `start`, HEAD's committer date and the git identity."""
    import git  # GitPython costs ~0.1 s to import: only runs that make patches pay for it

    try:
        repo = git.Repo(start, search_parent_directories=True)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError):
        raise PatchError(f"--patches needs a git repository; {start} is not in one") from None
    assert repo.working_tree_dir is not None
    try:
        date = format_datetime(repo.head.commit.committed_datetime)
    except ValueError:  # no commit yet
        date = EPOCH_DATE
    author = DEFAULT_AUTHOR
    with suppress(git.GitCommandError):  # git itself honours GIT_CONFIG_GLOBAL and includes
        author = (repo.git.config("--get", "user.name"), repo.git.config("--get", "user.email"))
    return RepoInfo(Path(repo.working_tree_dir).resolve(), date, author)


def by_depth(depth: int) -> Callable[[str], str]:
    """Group a repository path by its first `depth` folders (the file's own folder if shallower)."""

    def group(path: str) -> str:
        folders = PurePosixPath(path).parent.parts
        return "/".join(folders[:depth]) or "."

    return group


def read_codeowners(root: Path) -> list[tuple[str, tuple[str, ...]]]:
    """(pattern, owners) rules of the first CODEOWNERS file GitHub would read."""
    for place in CODEOWNERS_PLACES:
        path = root / place
        if path.is_file():
            rules = []
            for line in path.read_text(encoding="utf-8").splitlines():
                line = line.split("#", 1)[0].strip()
                if line:
                    pattern, *owners = line.split()
                    rules.append((pattern, tuple(owners)))
            return rules
    raise PatchError("--split-by codeowners: no CODEOWNERS file in the repository")


def by_codeowners(rules: Sequence[tuple[str, tuple[str, ...]]]) -> Callable[[str], str]:
    """Group a repository path by the owners of the last CODEOWNERS rule that matches it."""
    import pathspec

    compiled = [(pathspec.GitIgnoreSpec.from_lines([pattern]), owners) for pattern, owners in rules]

    def group(path: str) -> str:
        owners: tuple[str, ...] = ()
        for spec, rule_owners in compiled:
            if spec.match_file(path):
                owners = rule_owners
        return " ".join(owners) if owners else "(no owner)"

    return group


def _slug(group: str) -> str:
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", group).strip("-.")
    return slug or "root"


def _body(results: Sequence[FileResult], repo_paths: dict[str, str]) -> str:
    lines = []
    for result in results:
        for change in result.changes:
            added = ", ".join(f"{k}={v!r}" for k, v in change.added.items())
            lines.append(f"- {repo_paths[result.path]}:{change.line}: {change.task}: {added}")
    return "\n".join(lines)


def _diffstat(diffs: Sequence[tuple[str, str]]) -> str:
    rows = []
    width = max(len(path) for path, _ in diffs)
    total_added = total_removed = 0
    for path, diff in diffs:
        lines = diff.splitlines()[2:]
        added = sum(1 for line in lines if line.startswith("+"))
        removed = sum(1 for line in lines if line.startswith("-"))
        total_added += added
        total_removed += removed
        rows.append(f" {path.ljust(width)} | {added + removed} {'+' * added}{'-' * removed}")
    files = len(diffs)
    rows.append(
        f" {files} file{'s' if files != 1 else ''} changed, {total_added} insertions(+), "
        f"{total_removed} deletions(-)"
    )
    return "\n".join(rows)


def build_patches(
    results: Sequence[FileResult],
    info: RepoInfo,
    group_of: Callable[[str], str],
    to_repo_path: Callable[[str], str],
) -> list[Patch]:
    """One mail per group of changed files, in a stable order."""
    repo_paths = {r.path: to_repo_path(r.path) for r in results if r.changed}
    groups: dict[str, list[FileResult]] = defaultdict(list)
    for result in sorted((r for r in results if r.changed), key=lambda r: repo_paths[r.path]):
        groups[group_of(repo_paths[result.path])].append(result)
    patches = []
    for group, members in sorted(groups.items()):
        diffs = []
        for result in members:
            assert result.new_source is not None
            path = repo_paths[result.path]
            diffs.append((path, unified_diff(result.source, result.new_source, path)))
        calls = sum(len(r.changes) for r in members)
        where = "the repository root" if group == "." else group
        subject = f"celery-codemod: add missing send_task options in {where}"
        name, email = info.author
        text = (
            "From 0000000000000000000000000000000000000000 Mon Sep 17 00:00:00 2001\n"
            f"From: {name} <{email}>\n"
            f"Date: {info.date}\n"
            f"Subject: [PATCH] {subject}\n"
            "\n"
            f"Add the options their task declarations set to {calls} call"
            f"{'s' if calls != 1 else ''}, so that each behaves as apply_async would:\n\n"
            f"{_body(members, repo_paths)}\n"
            "---\n"
            f"{_diffstat(diffs)}\n\n"
            + "".join(f"diff --git a/{path} b/{path}\n{diff}" for path, diff in diffs)
            + f"-- \ncelery-codemod {__version__}\n\n"
        )
        patches.append(Patch(group, f"celery-codemod-{_slug(group)}.patch", text))
    return patches


def write_patches(
    report: Report, folder: Path, *, split_depth: int = 2, by_codeowners: bool = False
) -> list[Path]:
    """Write the report's changes as patches into `folder`; the working tree is not touched."""
    info = repo_info(Path.cwd())
    group_of = by_codeowners_of(info.root) if by_codeowners else by_depth(split_depth)

    def to_repo_path(path: str) -> str:
        return (Path.cwd() / path).resolve().relative_to(info.root).as_posix()

    patches = build_patches(report.changed, info, group_of, to_repo_path)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for patch in patches:
        target = folder / patch.filename
        target.write_bytes(patch.text.encode("utf-8", "surrogateescape"))
        written.append(target)
    return written


def by_codeowners_of(root: Path) -> Callable[[str], str]:
    return by_codeowners(read_codeowners(root))
