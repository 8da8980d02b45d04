"""Which files to read: `.py` files under the given paths, in a stable order.

Inside a git work tree, git decides (tracked files, and untracked ones that are not ignored), and
its index says which tracked files are unchanged since they were staged: their content is the
staged blob, so a run need not stat or hash them (git applies its own racy-timestamp rules).
Submodules and nested repositories are listed with their own git. Elsewhere the tree is walked,
skipping virtualenvs, build and cache folders. A path named explicitly is always taken: a file,
or a directory even when git ignores it.

Files are returned as strings relative to the current directory (`/`-separated, as reports show
them), computed from the resolved folder, so two spellings of one file (`.` and `$PWD`) give one
entry.
"""

from __future__ import annotations

import os
import stat
import subprocess
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from fnmatch import fnmatch
from pathlib import Path

SKIP_DIRS = frozenset(
    {
        ".git", ".hg", ".svn", "__pycache__", ".venv", "venv", ".tox", ".nox", "node_modules",
        "build", "dist", ".eggs", ".mypy_cache", ".pytest_cache", ".ruff_cache", "site-packages",
    }
)  # fmt: skip

# (size, mtime_ns, ctime_ns, inode) from one lstat.
Stat = tuple[int, int, int, int]

# `git ls-files -t` tags: H cached (and, with -m/-d, C changed, R removed); anything else
# (unmerged, skip-worktree, ...) is not trusted to equal the staged blob.
GIT_LISTING = ("ls-files", "-z", "-s", "-c", "-o", "-m", "-d", "-t", "--exclude-standard")
GIT_PATHSPEC = ("--", "*.py", "*/")  # `*/` lists untracked nested repositories as `dir/`
SYMLINK_MODE = "120000"
GITLINK_MODE = "160000"


def _git(arguments: Sequence[str], cwd: str | Path) -> str | None:
    """What a git command prints, or None outside a work tree or without git."""
    return _git_output(_git_start(arguments, cwd))


def _git_start(arguments: Sequence[str], cwd: str | Path) -> subprocess.Popen[bytes] | None:
    """A git command started (so that several run at once), or None without git."""
    try:
        return subprocess.Popen(
            ["git", *arguments], cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
        )
    except OSError:
        return None


def _git_output(process: subprocess.Popen[bytes] | None) -> str | None:
    """What a started git command prints, or None when it fails."""
    if process is None:
        return None
    output, _ = process.communicate()
    if process.returncode != 0:
        return None
    return output.decode("utf-8", "surrogateescape")


def _excluded(text: str, patterns: Sequence[str]) -> bool:
    name = text.rpartition("/")[2]
    return any(fnmatch(text, p) or fnmatch(name, p) or fnmatch(text, f"*/{p}") for p in patterns)


def _stat(path: str) -> os.stat_result | None:
    try:
        return os.lstat(path)
    except OSError:
        return None


def stat_key(info: os.stat_result) -> Stat:
    return info.st_size, info.st_mtime_ns, info.st_ctime_ns, info.st_ino


@dataclass
class Discovered:
    # Relative to the current directory, `/`-separated, sorted; one entry per file.
    files: tuple[str, ...] = ()
    # Symbolic links found in the trees: never read or written (their targets are, where they live).
    symlinks: tuple[str, ...] = ()
    # Git blob ids (raw bytes) of tracked files git's index says are unchanged.
    digests: dict[str, bytes] = field(default_factory=dict)
    # The lstat of the other files found in the trees (walked, untracked or changed).
    stats: dict[str, Stat] = field(default_factory=dict)
    # Resolved folders listed in full: a file under one of them that is not in `files` is gone.
    folders: tuple[str, ...] = ()


class _Collector:
    def __init__(self, exclude: Sequence[str]) -> None:
        self.exclude = exclude
        self.cwd = os.getcwd()
        self.files: dict[str, None] = {}
        self.symlinks: dict[str, None] = {}
        self.digests: dict[str, bytes] = {}
        self.stats: dict[str, Stat] = {}
        self.folders: list[str] = []
        self.repositories: set[str] = set()

    def shown(self, real: str) -> str:
        """`real` (a resolved path) relative to the current directory, as reports show it."""
        shown = os.path.relpath(real, self.cwd)
        return "" if shown == "." else shown.replace(os.sep, "/") + "/"

    def take(self, shown: str, info: os.stat_result | None) -> None:
        if info is None:
            return  # listed, but gone from the disk
        if self.exclude and _excluded(shown, self.exclude):
            return
        if stat.S_ISLNK(info.st_mode):
            self.symlinks[shown] = None
        elif stat.S_ISREG(info.st_mode):
            self.files[shown] = None
            self.stats[shown] = stat_key(info)

    def directory(self, real: str) -> None:
        self.folders.append(real)
        prefix = self.shown(real)
        if not self._git_directory(real, prefix):
            self._walk(real, prefix)

    def _git_directory(self, real: str, prefix: str) -> bool:
        """List `real` with git; False when it is not in a work tree or git ignores it."""
        ignored = _git_start(["check-ignore", "-q", "--", "."], real)  # at the same time
        listed = _git([*GIT_LISTING, *GIT_PATHSPEC], real)
        if _git_output(ignored) is not None:
            return False  # named explicitly, so taken even though git ignores it
        if listed is None:
            return False
        staged: dict[str, tuple[str, str]] = {}
        changed: set[str] = set()
        nested: list[str] = []
        for entry in listed.split("\0"):
            if len(entry) < 3:
                continue
            tag, rest = entry[0], entry[2:]
            if tag == "?":
                if rest.endswith("/"):
                    nested.append(rest[:-1])
                else:
                    self.take(prefix + rest, _stat(os.path.join(real, rest)))
                continue
            meta, _, name = rest.partition("\t")
            mode, blob, stage = ([*meta.split(" "), "", "", ""])[:3]
            if tag == "H" and stage == "0":
                staged[name] = (mode, blob)
            else:
                changed.add(name)
        for name, (mode, blob) in staged.items():
            shown = prefix + name
            if mode == SYMLINK_MODE and name not in changed:
                if not (self.exclude and _excluded(shown, self.exclude)):
                    self.symlinks[shown] = None
            elif name in changed or (mode != "100644" and mode != "100755"):
                self.take(shown, _stat(os.path.join(real, name)))
            elif not (self.exclude and _excluded(shown, self.exclude)):
                self.files[shown] = None
                self.digests[shown] = bytes.fromhex(blob)
        for name in changed - staged.keys():
            self.take(prefix + name, _stat(os.path.join(real, name)))
        for name in nested + self._submodules(real):
            inner = os.path.join(real, name)
            if os.path.exists(os.path.join(inner, ".git")) and inner not in self.repositories:
                self.repositories.add(inner)
                self.directory(inner)
        return True

    def _submodules(self, real: str) -> list[str]:
        """Checked-out submodules under `real`, relative to it."""
        top = repository_top(real)
        if top is None or not os.path.isfile(os.path.join(top, ".gitmodules")):
            return []
        listed = _git(
            ["config", "-z", "-f", ".gitmodules", "--get-regexp", r"^submodule\..*\.path$"], top
        )
        found = []
        for entry in (listed or "").split("\0"):
            _, _, relative = entry.partition("\n")
            inner = os.path.normpath(os.path.join(top, relative))
            if relative and (inner + os.sep).startswith(real + os.sep) and inner != real:
                found.append(os.path.relpath(inner, real))
        return found

    def _walk(self, real: str, prefix: str) -> None:
        """The `.py` files under `real`, folder by folder in name order, as `os.walk` lists them
        (symbolic links to folders are not followed). A stack, not recursion: a tree may nest
        deeper than Python's stack."""
        stack = [(real, prefix)]
        while stack:
            folder, inner = stack.pop()
            try:
                with os.scandir(folder) as listing:
                    entries = list(listing)
            except OSError:
                continue
            below = []
            for entry in entries:
                name = entry.name
                try:
                    is_dir = entry.is_dir()
                    linked = is_dir and entry.is_symlink()
                except OSError:
                    is_dir = linked = False
                if not is_dir:
                    if name.endswith(".py"):
                        self.take(inner + name, _stat(entry.path))
                elif not (
                    linked
                    or name in SKIP_DIRS
                    or name.endswith(".egg-info")
                    or os.path.exists(os.path.join(entry.path, "pyvenv.cfg"))
                ):
                    below.append(name)
            for name in sorted(below, reverse=True):
                stack.append((os.path.join(folder, name), inner + name + "/"))

    def named_file(self, text: str) -> None:
        """A file named explicitly: always processed (a missing one is reported later)."""
        folder, name = os.path.split(os.path.abspath(text))
        shown = self.shown(os.path.realpath(folder)) + name
        self.files[shown] = None
        info = _stat(shown)
        if info is not None and stat.S_ISREG(info.st_mode):
            self.stats[shown] = stat_key(info)


def discover(paths: Iterable[str | Path], exclude: Sequence[str] = ()) -> Discovered:
    collector = _Collector(exclude)
    for path in paths:
        text = os.fspath(path)
        if os.path.isdir(text):
            real = os.path.realpath(text)
            if real not in collector.repositories:
                collector.repositories.add(real)
                collector.directory(real)
        else:
            collector.named_file(text)
    files = sorted(collector.files)
    stats = {f: collector.stats[f] for f in files if f in collector.stats}
    return Discovered(
        tuple(files),
        tuple(sorted(collector.symlinks.keys() - collector.files.keys())),
        collector.digests,
        stats,
        tuple(collector.folders),
    )


def key_maker() -> Callable[[str], bytes]:
    """A function from a path as discovery shows it to its absolute, resolved path as bytes."""
    cwd = os.getcwd()
    prefix = os.fsencode(os.path.join(cwd, ""))

    def key(shown: str) -> bytes:
        if shown.startswith(("../", "/")):
            return os.fsencode(os.path.normpath(os.path.join(cwd, shown)))
        return prefix + os.fsencode(shown)

    return key


def repository_top(start: str) -> str | None:
    """The top of the git work tree holding the folder `start`, found by its `.git`; no git run."""
    folder = os.path.abspath(start)
    while True:
        if os.path.exists(os.path.join(folder, ".git")):
            return folder
        parent = os.path.dirname(folder)
        if parent == folder:
            return None
        folder = parent


def repository_root(start: Path) -> Path | None:
    """The top of the git work tree holding `start`, or None."""
    top = _git(["rev-parse", "--show-toplevel"], start)
    return None if top is None else Path(top.strip())
