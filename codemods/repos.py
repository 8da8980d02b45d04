"""Which git repository holds each file, and which files differ from their repository's HEAD.

Paths may span several repositories: submodules, nested repositories, other checkouts. Each file
belongs to the innermost work tree holding it, and each repository's status is read on its own.
When a folder is marked as a repository (a `.git` entry) but git cannot read it, the answer is an
error, never "clean": a safety check that cannot run must refuse, not pass.
"""

from __future__ import annotations

import os
import subprocess
from collections import defaultdict
from collections.abc import Iterable, Sequence
from pathlib import Path

# Variables that point git at one repository: a hook or a wrapper may set them for the repository
# it runs in, which would make every other repository's answers wrong.
LOCATION_VARIABLES = (
    "GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_COMMON_DIR", "GIT_OBJECT_DIRECTORY",
    "GIT_ALTERNATE_OBJECT_DIRECTORIES", "GIT_NAMESPACE", "GIT_PREFIX",
)  # fmt: skip
# Paths per `git status` call, well under any command-line length limit.
STATUS_BATCH = 500


class RepositoryError(Exception):
    """A repository's state cannot be read; the message names it and says why."""


def _environment() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in LOCATION_VARIABLES}


def git_output(arguments: Sequence[str], cwd: Path) -> tuple[int, str, str]:
    """(exit code, stdout, stderr) of a git command run in `cwd`; 127 when git cannot start."""
    try:
        completed = subprocess.run(
            ["git", *arguments], cwd=cwd, env=_environment(), capture_output=True, check=False
        )
    except OSError as error:
        return 127, "", f"cannot run git: {error.strerror or error}"
    return (
        completed.returncode,
        completed.stdout.decode("utf-8", "surrogateescape"),
        completed.stderr.decode("utf-8", "replace"),
    )


def _first_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[0] if lines else "git failed without a message"


def _marked(folder: Path, memo: dict[Path, Path | None]) -> Path | None:
    """The nearest folder at or above `folder` that holds a `.git` entry (folder or file)."""
    seen = []
    current: Path | None = folder
    found: Path | None = None
    while current is not None:
        if current in memo:
            found = memo[current]
            break
        seen.append(current)
        if os.path.lexists(current / ".git"):
            found = current
            break
        current = current.parent if current.parent != current else None
    for visited in seen:
        memo[visited] = found
    return found


def _folder(path: Path) -> Path:
    """The real folder holding `path` (symbolic links in the folders resolved, not the file)."""
    absolute = Path(os.path.abspath(path))
    return (absolute if absolute.is_dir() else absolute.parent).resolve()


def in_repository(path: Path, root: Path) -> str:
    """`path` relative to the repository root `root`, with `/` separators."""
    absolute = Path(os.path.abspath(path))
    real = absolute.resolve() if absolute.is_dir() else _folder(path) / absolute.name
    return real.relative_to(root).as_posix()


def _toplevel(folder: Path) -> tuple[Path | None, str]:
    """The work tree git finds from `folder`, or None and git's reason."""
    code, out, err = git_output(["rev-parse", "--show-toplevel"], folder)
    top = out.strip()
    if code != 0 or not top:
        return None, _first_line(err)
    return Path(top).resolve(), ""


def repository_roots(paths: Iterable[Path]) -> dict[Path, Path | None]:
    """Each path's repository root (resolved), or None when no repository holds it.

    Raises RepositoryError when a folder is marked as a repository but git cannot read it
    (git missing, a broken `.git` file, an unsafe owner, ...).
    """
    memo: dict[Path, Path | None] = {}
    confirmed: dict[Path, Path] = {}
    roots: dict[Path, Path | None] = {}
    for path in paths:
        marked = _marked(_folder(path), memo)
        if marked is None:
            # No `.git` at or above it: outside git. (A work tree located only by GIT_DIR and
            # GIT_WORK_TREE is not followed: those variables name one repository for one command.)
            roots[path] = None
            continue
        if marked not in confirmed:
            top, reason = _toplevel(marked)
            if top is None:
                raise RepositoryError(f"{marked}: git cannot read this repository ({reason})")
            confirmed[marked] = top
        roots[path] = confirmed[marked]
    return roots


def uncommitted(paths: Sequence[Path]) -> list[Path]:
    """The given files that differ from their repository's HEAD: staged, unstaged, untracked or
    ignored. Files outside every repository have nothing to differ from and are not listed.

    Raises RepositoryError when a repository's status cannot be read.
    """
    roots = repository_roots(paths)
    by_root: dict[Path, list[Path]] = defaultdict(list)
    for path in paths:
        root = roots[path]
        if root is not None:
            by_root[root].append(path)
    dirty: set[Path] = set()
    for root in sorted(by_root):
        members = by_root[root]
        for start in range(0, len(members), STATUS_BATCH):
            dirty |= _status(root, members[start : start + STATUS_BATCH])
    return [p for p in paths if p in dirty]


def _status(root: Path, paths: Sequence[Path]) -> set[Path]:
    """Which of `paths` (all in the repository at `root`) `git status` reports."""
    relative = {in_repository(path, root): path for path in paths}
    code, out, err = git_output(
        [
            "--literal-pathspecs", "status", "--porcelain=v1", "-z", "--untracked-files=all",
            "--ignored=traditional", "--ignore-submodules=all", "--", *relative,
        ],
        root,
    )  # fmt: skip
    if code != 0:
        raise RepositoryError(f"{root}: git cannot read the status ({_first_line(err)})")
    reported = set()
    fields = iter(out.split("\0"))
    for entry in fields:
        if len(entry) < 4:
            continue
        reported.add(entry[3:])
        if entry[0] in "RC" or entry[1] in "RC":
            reported.add(next(fields, ""))  # a rename's or copy's source follows
    # An ignored or untracked folder may be reported whole ("gen/").
    folders = tuple(name for name in reported if name.endswith("/"))
    return {
        path
        for name, path in relative.items()
        if name in reported or (folders and name.startswith(folders))
    }


def head_version(path: Path, root: Path) -> bytes | None:
    """The file's bytes in HEAD of the repository at `root`; None when HEAD does not have it.

    Raises RepositoryError when git cannot be run.
    """
    name = in_repository(path, root)
    try:
        completed = subprocess.run(
            ["git", "cat-file", "blob", f"HEAD:{name}"],
            cwd=root,
            env=_environment(),
            capture_output=True,
            check=False,
        )
    except OSError as error:
        raise RepositoryError(f"{root}: cannot run git ({error.strerror or error})") from None
    # Not in HEAD: untracked, only staged, or no commit yet.
    return completed.stdout if completed.returncode == 0 else None
