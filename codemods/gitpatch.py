"""One git patch per owning directory (or CODEOWNERS owner set), as `git format-patch` mails.

Each patch applies alone with `git am` or `git apply` on a clean checkout of its repository;
together they give the same tree as `--write`. Files in several repositories (submodules, nested
repositories) give one patch set per repository, with paths relative to that repository's root.
Patch file names are distinct (a short hash of the group is added when two groups would share a
name) and the output is byte-identical across runs: the Date is HEAD's committer date and the
author is the repository's git identity, or a fixed one when none is configured.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from email.utils import format_datetime
from pathlib import Path, PurePosixPath

from codemods import __version__
from codemods.diff import file_diff
from codemods.model import Diagnostic, FileResult, Severity
from codemods.repos import RepositoryError, git_output, in_repository, repository_roots

DEFAULT_AUTHOR = ("celery-codemod", "celery-codemod@localhost")
EPOCH_DATE = "Thu, 1 Jan 1970 00:00:00 +0000"
# GitHub reads the first of .github/, the root and docs/; GitLab also reads .gitlab/.
CODEOWNERS_PLACES = (".github/CODEOWNERS", "CODEOWNERS", "docs/CODEOWNERS", ".gitlab/CODEOWNERS")
PREFIX = "celery-codemod-"
# Longest slug kept in a file name; longer ones are cut and made unique with the hash.
MAX_SLUG = 80
OWNER = re.compile(r"^(@[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9._-]+)?|[^@\s]+@[^@\s]+\.[^@\s]+)$")


class PatchError(Exception):
    """Patches cannot be made here (no git repository, ...); the message says why."""


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


@dataclass(frozen=True)
class Written:
    """What `write_patches` wrote, and the warnings it has (CODEOWNERS lines skipped)."""

    # Each patch file, and the root of the repository it applies in when that is not the
    # repository holding the working directory.
    patches: tuple[tuple[Path, Path | None], ...] = ()
    diagnostics: tuple[Diagnostic, ...] = ()


def repo_info(root: Path) -> RepoInfo:
    """HEAD's committer date and the git identity of the repository at `root`."""
    code, out, _ = git_output(["log", "-1", "--format=%cI", "HEAD"], root)
    date = EPOCH_DATE  # no commit yet
    if code == 0 and out.strip():
        date = format_datetime(datetime.fromisoformat(out.strip()))
    author = DEFAULT_AUTHOR
    name_code, name, _ = git_output(["config", "--get", "user.name"], root)
    email_code, email, _ = git_output(["config", "--get", "user.email"], root)
    if name_code == 0 and email_code == 0:  # git itself honours GIT_CONFIG_GLOBAL and includes
        author = (name.strip(), email.strip())
    return RepoInfo(root, date, author)


def by_depth(depth: int) -> Callable[[str], str]:
    """Group a repository path by its first `depth` folders (the file's own folder if shallower)."""

    def group(path: str) -> str:
        folders = PurePosixPath(path).parent.parts
        return "/".join(folders[:depth]) or "."

    return group


Rules = list[tuple[str, tuple[str, ...]]]


def parse_codeowners(data: bytes, display: str) -> tuple[Rules, list[Diagnostic]]:
    """(pattern, owners) rules of a CODEOWNERS file, and a warning for each line skipped.

    As GitHub does, a line that is not valid is reported and the others are used: text that is
    not UTF-8, a pattern git would reject, `!` negation and `[ ]` ranges (GitHub supports
    neither), an owner that is not `@user`, `@org/team` or an e-mail address.
    """
    import pathspec

    rules: Rules = []
    problems = []

    def skip(number: int, why: str) -> None:
        message = f"CODEOWNERS line skipped: {why}"
        problems.append(
            Diagnostic(display, number, "invalid-codeowners", Severity.WARNING, message)
        )

    for number, raw in enumerate(data.splitlines(), start=1):
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError:
            skip(number, "not UTF-8")
            continue
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        pattern, *owners = line.split()
        if pattern.startswith("!"):
            skip(number, f"{pattern!r}: negation (!) is not supported in CODEOWNERS")
            continue
        if re.search(r"\[[^\]]*\]", pattern):
            skip(number, f"{pattern!r}: character ranges ([ ]) are not supported in CODEOWNERS")
            continue
        bad = [owner for owner in owners if not OWNER.match(owner)]
        if bad:
            skip(number, f"{bad[0]!r} is not an owner (@user, @org/team or an e-mail address)")
            continue
        try:
            pathspec.GitIgnoreSpec.from_lines([pattern])
        except Exception as error:  # pathspec raises several types for patterns it rejects
            skip(number, f"{pattern!r} is not a valid pattern ({error})")
            continue
        rules.append((pattern, tuple(owners)))
    return rules, problems


def read_codeowners(root: Path, label: str) -> tuple[Rules, list[Diagnostic]]:
    """The rules of the first CODEOWNERS file GitHub would read in the repository at `root`."""
    for place in CODEOWNERS_PLACES:
        path = root / place
        if path.is_file():
            try:
                data = path.read_bytes()
            except OSError as error:
                raise PatchError(f"{path}: cannot read ({error.strerror or error})") from None
            return parse_codeowners(data, _display(path))
    where = "" if label == "." else f" at {label}"
    raise PatchError(f"--split-by codeowners: no CODEOWNERS file in the repository{where}")


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


def _slug(label: str) -> str:
    if label == ".":
        return "root"
    return re.sub(r"[^A-Za-z0-9._-]+", "-", label).strip("-.")


def _short_hash(label: str) -> str:
    return hashlib.sha256(label.encode("utf-8", "surrogateescape")).hexdigest()[:8]


def unique_names(labels: Sequence[str]) -> dict[str, str]:
    """A file-name-safe name for each distinct label, distinct even where case does not count.

    A label keeps its plain slug (`svc/billing` -> `svc-billing`) unless the slug is empty (no
    ASCII letter or digit), too long, or shared with another label (`svc/a b`, `svc/a-b`): then a
    hash of the label is added, so a name depends only on the labels, never on their order.
    """
    slugs = {label: _slug(label) for label in sorted(set(labels))}
    shared = Counter(slug.casefold() for slug in slugs.values())
    names = {}
    for label, slug in slugs.items():
        if not slug or len(slug) > MAX_SLUG or shared[slug.casefold()] > 1:
            slug = "-".join(filter(None, (slug[:MAX_SLUG].strip("-."), _short_hash(label))))
        names[label] = slug
    taken: set[str] = set()
    for label in slugs:  # a folder may be named like another's hashed slug: number the second
        name, counter = names[label], 1
        while name.casefold() in taken:
            counter += 1
            name = f"{names[label]}-{counter}"
        taken.add(name.casefold())
        names[label] = name
    return names


def _quoted(path: str) -> str:
    """A path as git writes it: C-quoted when it holds `"`, `\\` or a control character."""
    if not re.search(r'["\\\x00-\x1f\x7f]', path):
        return path
    escapes = {'"': '\\"', "\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"}
    body = "".join(
        escapes.get(char, f"\\{ord(char):03o}" if ord(char) < 32 or ord(char) == 127 else char)
        for char in path
    )
    return f'"{body}"'


def _file_diff(path: str, result: FileResult) -> str:
    """The `diff --git` section of one file, paths quoted as git quotes them."""
    assert result.new_source is not None
    # The file's own bytes, carried in the text (the mail is written with surrogateescape).
    diff = file_diff(result, path).decode("utf-8", "surrogateescape")
    header = f"--- a/{path}\n+++ b/{path}\n"  # as the diff has it: the path may hold a newline
    assert diff.startswith(header)
    old, new = _quoted(f"a/{path}"), _quoted(f"b/{path}")
    return f"diff --git {old} {new}\n--- {old}\n+++ {new}\n{diff[len(header) :]}"


def _body(results: Sequence[FileResult], repo_paths: dict[str, str]) -> str:
    lines = []
    for result in results:
        for change in result.changes:
            added = ", ".join(f"{k}={v!r}" for k, v in change.added.items())
            where = f"{_quoted(repo_paths[result.path])}:{change.line}"
            lines.append(f"- {where}: {_quoted(change.task)}: {_quoted(added)}")
    return "\n".join(lines)


def _diffstat(diffs: Sequence[tuple[str, str]]) -> str:
    rows = []
    width = max(len(path) for path, _ in diffs)
    total_added = total_removed = 0
    for path, diff in diffs:
        lines = diff.split("\n")[3:]
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
    """One mail per group of changed files, in a stable order, under distinct file names."""
    repo_paths = {r.path: to_repo_path(r.path) for r in results if r.changed}
    groups: dict[str, list[FileResult]] = defaultdict(list)
    for result in sorted((r for r in results if r.changed), key=lambda r: repo_paths[r.path]):
        groups[group_of(repo_paths[result.path])].append(result)
    names = unique_names(list(groups))
    patches = []
    for group, members in sorted(groups.items()):
        diffs = [(_quoted(repo_paths[r.path]), _file_diff(repo_paths[r.path], r)) for r in members]
        calls = sum(len(r.changes) for r in members)
        where = "the repository root" if group == "." else _quoted(group)
        subject = f"celery-codemod: add missing send_task options in {where}"
        name, email = info.author
        headers = (
            "From 0000000000000000000000000000000000000000 Mon Sep 17 00:00:00 2001\n"
            f"From: {name} <{email}>\n"
            f"Date: {info.date}\n"
            f"Subject: [PATCH] {subject}\n"
        )
        body = (
            f"Add the options their task declarations set to {calls} call"
            f"{'s' if calls != 1 else ''}, so that each behaves as apply_async would:\n\n"
            f"{_body(members, repo_paths)}\n"
            "---\n"
            f"{_diffstat(diffs)}\n\n"
            + "".join(diff for _, diff in diffs)
            + f"-- \ncelery-codemod {__version__}\n\n"
        )
        patches.append(Patch(group, f"{PREFIX}{names[group]}.patch", _mail(headers, body)))
    return patches


def _mail(headers: str, body: str) -> str:
    """The mail: as is, or base64-encoded when it carries a carriage return.

    `git am` drops the CR of every CRLF line of a plain mail, so a patch to a file with CRLF (or
    CR) line endings would not apply; as `git send-email` does, such a mail is sent encoded, and
    `git am` keeps its bytes. (`git apply` does not decode mails: use `git am` for these.)
    """
    if "\r" not in body:
        return f"{headers}\n{body}"
    encoded = base64.encodebytes(body.encode("utf-8", "surrogateescape")).decode("ascii")
    return (
        f"{headers}MIME-Version: 1.0\nContent-Type: text/plain; charset=UTF-8\n"
        f"Content-Transfer-Encoding: base64\n\n{encoded}"
    )


def _display(path: Path) -> str:
    return os.path.relpath(path).replace(os.sep, "/")


def _repositories(
    results: Sequence[FileResult],
) -> tuple[dict[Path, list[FileResult]], Path | None]:
    """The changed files by repository root, and the root of the working directory's repository.

    PatchError when a file is in no repository, or a repository cannot be read.
    """
    cwd = Path.cwd()
    try:
        roots = repository_roots([cwd, *(Path(r.path) for r in results)])
    except RepositoryError as error:
        raise PatchError(str(error)) from None
    outside = [r.path for r in results if roots[Path(r.path)] is None]
    if outside:
        more = f" (and {len(outside) - 1} more)" if len(outside) > 1 else ""
        raise PatchError(f"--patches needs a git repository; {outside[0]} is not in one{more}")
    by_root: dict[Path, list[FileResult]] = defaultdict(list)
    for result in results:
        root = roots[Path(result.path)]
        assert root is not None
        by_root[root].append(result)
    return by_root, roots[cwd]


def write_patches(
    results: Sequence[FileResult],
    folder: Path,
    *,
    split_depth: int = 2,
    split_by_codeowners: bool = False,
) -> Written:
    """Write the changes as patches into `folder`; the working tree is not touched.

    The patches of the repository holding the working directory go into `folder`; those of any
    other repository (a submodule, a nested repository) into `folder/<its path>/`, named after
    where it lies, with paths relative to its own root.
    """
    by_root, here = _repositories([r for r in results if r.changed])
    base = here or Path.cwd().resolve()
    labels = {root: os.path.relpath(root, base).replace(os.sep, "/") for root in by_root}
    subfolders = unique_names([labels[root] for root in by_root if root != here])
    planned: list[tuple[Path, Patch, Path | None]] = []
    diagnostics: list[Diagnostic] = []
    for root in sorted(by_root):
        target = folder if root == here else folder / subfolders[labels[root]]
        if split_by_codeowners:
            rules, problems = read_codeowners(root, labels[root])
            diagnostics.extend(problems)
            group_of = by_codeowners(rules)
        else:
            group_of = by_depth(split_depth)

        def to_repo_path(path: str, root: Path = root) -> str:
            return in_repository(Path(path), root)

        for patch in build_patches(by_root[root], repo_info(root), group_of, to_repo_path):
            planned.append((target, patch, None if root == here else root))
    written = []
    for target, patch, elsewhere in planned:
        path = target / patch.filename
        try:
            target.mkdir(parents=True, exist_ok=True)
            path.write_bytes(patch.text.encode("utf-8", "surrogateescape"))
        except OSError as error:
            raise PatchError(f"cannot write {path}: {error.strerror or error}") from None
        written.append((path, elsewhere))
    return Written(tuple(written), tuple(diagnostics))
