"""The import name of a module file, which Celery uses in generated task names."""

from __future__ import annotations

import os
from collections.abc import Collection, Sequence
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
    ) -> None:
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
        return self._realpath(os.path.dirname(path))

    def real_path(self, path: str | Path) -> str:
        return os.path.join(self.real_folder(path), os.path.basename(path))

    def root(self, path: str | Path) -> Path:
        """The folder the file's module name starts from."""
        return Path(self._folder(self.real_folder(path))[1])

    def _realpath(self, folder: str) -> str:
        real = self._real.get(folder)
        if real is None:
            absolute = os.path.abspath(folder)
            parent = os.path.dirname(absolute)
            if parent == absolute or os.path.islink(absolute):
                real = os.path.realpath(absolute)
            else:  # one lstat per folder, instead of one per part of its path
                real = os.path.join(self._realpath(parent), os.path.basename(absolute))
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
        """The name from the nearest top-level package or root folder above, if any."""
        parent = os.path.dirname(folder)
        name = os.path.basename(folder)
        if parent == folder or not name.isidentifier():
            return None  # a folder named `.semgrep` or `my-app` is no package
        if folder in self._tops or parent in self._roots:
            return (name,), parent
        if folder not in self._rooted_memo:
            self._rooted_memo[folder] = self._rooted(parent)
        above = self._rooted_memo[folder]
        return None if above is None else ((*above[0], name), above[1])

    def _walk_up(self, folder: str) -> _Folder:
        """Regular packages: the folders holding an `__init__.py`, up to the first that does not."""
        parent = os.path.dirname(folder)
        if parent == folder or not self._is_package(folder):
            return (), folder
        if folder not in self._walk_memo:
            self._walk_memo[folder] = self._walk_up(parent)
        above = self._walk_memo[folder]
        return (*above[0], os.path.basename(folder)), above[1]

    def _is_package(self, folder: str) -> bool:
        known = self._packages.get(folder)
        if known is None:
            known = self._packages[folder] = os.path.isfile(os.path.join(folder, "__init__.py"))
        return known
