"""The import name of a module file, which Celery uses in generated task names."""

from __future__ import annotations

import os
from collections.abc import Collection, Iterable, Sequence
from pathlib import Path


def module_name(path: Path, source_roots: Sequence[Path] = ()) -> tuple[str, bool]:
    """(dotted module name, is a package `__init__`) for a `.py` file.

    Under a source root the name is the path below it; otherwise the file's folder and its
    parents count while they hold an `__init__.py` (regular packages).
    """
    return ModuleNamer(source_roots)(path)


# A folder's module path and the folder module names start from (real, absolute paths as text).
_Folder = tuple[tuple[str, ...], str]


class ModuleNamer:
    """Module names for many files, each folder worked out once (paths are handled as text:
    `pathlib` costs too much per file on large trees).

    Explicit `source_roots` win: a file under one is named by its path below the deepest of them.
    Otherwise a folder in `tops` (a top-level package) or whose parent is in `roots` (a folder on
    `sys.path`) starts the name, the nearest such folder first; failing that, the name walks up
    the folders holding an `__init__.py`, as regular packages do.
    """

    def __init__(
        self,
        source_roots: Sequence[Path] = (),
        *,
        tops: Collection[str] = (),
        roots: Collection[str] = (),
        physical: bool = False,
    ) -> None:
        """`physical`: the paths named are relative to the current folder (or absolute) and no
        folder in them is a symbolic link, as discovery lists them (git never lists a path
        through a link, nor does the walk follow one), so resolving them needs no lstat."""
        self._physical = os.getcwd() if physical else None
        resolved = {os.path.realpath(r) for r in source_roots}
        self._source_roots = sorted(resolved, key=lambda r: -r.count(os.sep))
        self._tops = frozenset(tops)
        self._roots = frozenset(roots)
        self._folders: dict[str, _Folder] = {}
        self._real: dict[str, str] = {}
        self._rooted_memo: dict[str, _Folder | None] = {}
        self._walk_memo: dict[str, _Folder] = {}
        self._packages: dict[str, bool] = {}

    def __call__(self, path: str | Path) -> tuple[str, bool]:
        parts, _ = self._folder(self.real_folder(path))
        name = os.path.basename(path)
        is_package = name == "__init__.py"
        if not is_package:
            parts = (*parts, name[:-3] if name.endswith(".py") else name)
        return ".".join(parts), is_package

    def real_folder(self, path: str | Path) -> str:
        """The file's folder as an absolute path with symbolic links resolved."""
        return self._realpath(os.fspath(path).rpartition(os.sep)[0])

    def real_path(self, path: str | Path) -> str:
        folder, _, name = os.fspath(path).rpartition(os.sep)
        real = self._realpath(folder)
        return real + name if real.endswith(os.sep) else real + os.sep + name

    def real_paths(self, paths: Iterable[str]) -> list[str]:
        """`real_path` of each path, the folder of a run of paths in one folder looked up once."""
        found = []
        last: str | None = None
        prefix = ""
        for path in paths:
            folder, _, name = path.rpartition(os.sep)
            if folder != last:
                real = self._realpath(folder)
                prefix = real if real.endswith(os.sep) else real + os.sep
                last = folder
            found.append(prefix + name)
        return found

    def root(self, path: str | Path) -> Path:
        """The folder the file's module name starts from."""
        return Path(self._folder(self.real_folder(path))[1])

    def _realpath(self, folder: str) -> str:
        """One lstat per folder (is it a link?) instead of one per part of its path."""
        real = self._real.get(folder)
        if real is not None:
            return real
        if self._physical is not None:
            real = self._real[folder] = os.path.normpath(os.path.join(self._physical, folder))
            return real
        chain: list[str] = []
        current = os.path.abspath(folder)
        while current not in self._real:
            parent = os.path.dirname(current)
            if parent == current or os.path.islink(current):
                self._real[current] = os.path.realpath(current)
            else:
                chain.append(current)
                current = parent
        real = self._real[current]
        for below in reversed(chain):  # iterative: folders may nest deeper than the stack
            real = os.path.join(real, os.path.basename(below))
            self._real[below] = real
        self._real[folder] = real
        return real

    def _folder(self, folder: str) -> _Folder:
        found = self._folders.get(folder)
        if found is None:
            found = self._folders[folder] = self._compute(folder)
        return found

    def _compute(self, folder: str) -> _Folder:
        for root in self._source_roots:
            if folder == root:
                return (), root
            if folder.startswith(root + os.sep):
                return tuple(folder[len(root) + 1 :].split(os.sep)), root
        if self._tops or self._roots:
            rooted = self._rooted(folder)
            if rooted is not None:
                return rooted
        return self._walk_up(folder)

    def _rooted(self, folder: str) -> _Folder | None:
        """The name from the nearest top-level package or root folder above, if any. A folder
        named `.semgrep` or `my-app` on the way is no package: None."""
        memo = self._rooted_memo
        chain: list[str] = []
        current = folder
        while current not in memo:
            parent = os.path.dirname(current)
            name = os.path.basename(current)
            if parent == current or not name.isidentifier():
                memo[current] = None
            elif current in self._tops or parent in self._roots:
                memo[current] = (name,), parent
            else:
                chain.append(current)
                current = parent
        found = memo[current]
        for below in reversed(chain):  # iterative: folders may nest deeper than the stack
            if found is not None:
                found = (*found[0], os.path.basename(below)), found[1]
            memo[below] = found
        return found

    def _walk_up(self, folder: str) -> _Folder:
        """Regular packages: the folders holding an `__init__.py`, up to the first that does not."""
        memo = self._walk_memo
        chain: list[str] = []
        current = folder
        while current not in memo:
            parent = os.path.dirname(current)
            if parent == current or not self._is_package(current):
                memo[current] = (), current
            else:
                chain.append(current)
                current = parent
        found = memo[current]
        for below in reversed(chain):
            found = (*found[0], os.path.basename(below)), found[1]
            memo[below] = found
        return found

    def _is_package(self, folder: str) -> bool:
        known = self._packages.get(folder)
        if known is None:
            known = self._packages[folder] = os.path.isfile(os.path.join(folder, "__init__.py"))
        return known
