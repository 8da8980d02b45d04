"""Which files to read: `.py` files under the given paths, in a stable order.

Inside a git work tree, git decides (tracked files, and untracked ones that are not ignored);
elsewhere the tree is walked, skipping virtualenvs, build and cache folders. A file named
explicitly is always taken.
"""

from __future__ import annotations

import os
import stat
import subprocess
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from fnmatch import fnmatch
from pathlib import Path

SKIP_DIRS = frozenset(
    {
        ".git", ".hg", ".svn", "__pycache__", ".venv", "venv", ".tox", ".nox", "node_modules",
        "build", "dist", ".eggs", ".mypy_cache", ".pytest_cache", ".ruff_cache", "site-packages",
    }
)  # fmt: skip


def _git(arguments: Sequence[str], cwd: Path) -> str | None:
    """What a git command prints, or None outside a work tree or without git."""
    try:
        completed = subprocess.run(["git", *arguments], cwd=cwd, capture_output=True, check=False)
    except OSError:
        return None
    if completed.returncode != 0:
        return None
    return completed.stdout.decode("utf-8", "surrogateescape")


def _git_files(directory: Path) -> list[Path] | None:
    """The `.py` files git knows under `directory`, or None outside a work tree or without git."""
    listed = _git(
        ["ls-files", "-z", "--cached", "--others", "--exclude-standard", "--", "*.py"], directory
    )
    if listed is None:
        return None
    names = listed.split("\0")
    return [directory / name for name in dict.fromkeys(names) if name]


def _walk(directory: Path) -> Iterable[Path]:
    for root, dirs, files in os.walk(directory):
        dirs[:] = sorted(
            d
            for d in dirs
            if d not in SKIP_DIRS
            and not d.endswith(".egg-info")
            and not (Path(root, d) / "pyvenv.cfg").exists()
        )
        for name in files:
            if name.endswith(".py"):
                yield Path(root, name)


def _excluded(path: Path, patterns: Sequence[str]) -> bool:
    text = path.as_posix()
    return any(
        fnmatch(text, p) or fnmatch(path.name, p) or fnmatch(text, f"*/{p}") for p in patterns
    )


@dataclass(frozen=True)
class Discovered:
    files: tuple[Path, ...]
    # Symbolic links found in the trees: never read or written (their targets are, where they live).
    symlinks: tuple[Path, ...] = ()
    # (size, mtime_ns) of the files found in the trees, from the one lstat discovery makes.
    stats: dict[Path, tuple[int, int]] = field(default_factory=dict)


def discover(paths: Iterable[Path], exclude: Sequence[str] = ()) -> Discovered:
    found: set[Path] = set()
    links: set[Path] = set()
    stats: dict[Path, tuple[int, int]] = {}
    for path in paths:
        if path.is_dir():
            listed = _git_files(path)
            for candidate in _walk(path) if listed is None else listed:
                if exclude and _excluded(candidate, exclude):
                    continue
                try:
                    info = os.lstat(candidate)
                except OSError:
                    continue  # listed by git, gone from the disk
                if stat.S_ISLNK(info.st_mode):
                    links.add(candidate)
                elif stat.S_ISREG(info.st_mode):
                    found.add(candidate)
                    stats[candidate] = (info.st_size, info.st_mtime_ns)
        else:
            found.add(path)  # named explicitly: always processed (missing files error later)
    # Sorting by the text is many times faster than comparing Path objects.
    return Discovered(tuple(sorted(found, key=os.fspath)), tuple(sorted(links)), stats)


def repository_root(start: Path) -> Path | None:
    """The top of the git work tree holding `start`, or None."""
    top = _git(["rev-parse", "--show-toplevel"], start)
    return None if top is None else Path(top.strip())
