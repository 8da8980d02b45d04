"""The import name of a module file, which Celery uses in generated task names."""

from __future__ import annotations

import os
from collections.abc import Collection, Sequence
from functools import lru_cache
from pathlib import Path


@lru_cache(maxsize=4096)
def _is_package_dir(directory: Path) -> bool:
    return (directory / "__init__.py").is_file()


def module_name(path: Path, source_roots: Sequence[Path] = ()) -> tuple[str, bool]:
    """(dotted module name, is a package `__init__`) for a `.py` file.

    Under a source root the name is the path below it; otherwise the file's folder and its
    parents count while they hold an `__init__.py` (regular packages).
    """
    return ModuleNamer(source_roots)(path)


# A folder's module path and the folder module names start from.
_Folder = tuple[tuple[str, ...], Path]


class ModuleNamer:
    """Module names for many files, each folder worked out once.

    Explicit `source_roots` win: a file under one is named by its path below the deepest of them.
    Otherwise a folder in `tops` (a top-level package) or whose parent is in `roots` (a folder on
    `sys.path`) starts the name, the nearest such folder first; failing that, the name walks up
    the folders holding an `__init__.py`, as regular packages do.
    """

    def __init__(
        self,
        source_roots: Sequence[Path] = (),
        *,
        tops: Collection[Path] = (),
        roots: Collection[Path] = (),
    ) -> None:
        resolved = {Path(os.path.realpath(r)) for r in source_roots}
        self._source_roots = sorted(resolved, key=lambda r: -len(r.parts))
        self._tops = frozenset(tops)
        self._roots = frozenset(roots)
        self._folders: dict[Path, _Folder] = {}
        self._memo: dict[tuple[str, Path], _Folder | None] = {}
        self._real: dict[Path, Path] = {}

    def __call__(self, path: Path) -> tuple[str, bool]:
        parts, _ = self._folder(self._realpath(path.parent))
        is_package = path.name == "__init__.py"
        if not is_package:
            parts = (*parts, path.name.removesuffix(".py"))
        return ".".join(parts), is_package

    def root(self, path: Path) -> Path:
        """The folder the file's module name starts from."""
        return self._folder(self._realpath(path.parent))[1]

    def _realpath(self, folder: Path) -> Path:
        real = self._real.get(folder)
        if real is None:
            real = self._real[folder] = Path(os.path.realpath(folder))
        return real

    def _folder(self, folder: Path) -> _Folder:
        found = self._folders.get(folder)
        if found is None:
            found = self._folders[folder] = self._compute(folder)
        return found

    def _compute(self, folder: Path) -> _Folder:
        for root in self._source_roots:
            if folder.is_relative_to(root):
                return folder.relative_to(root).parts, root
        if self._tops or self._roots:
            rooted = self._rooted(folder)
            if rooted is not None:
                return rooted
        return self._walk_up(folder)

    def _rooted(self, folder: Path) -> _Folder | None:
        """The name from the nearest top-level package or root folder above, if any."""
        if folder == folder.parent:
            return None
        if folder in self._tops or folder.parent in self._roots:
            return (folder.name,), folder.parent
        key = ("rooted", folder)
        if key not in self._memo:
            self._memo[key] = self._rooted(folder.parent)
        above = self._memo[key]
        return None if above is None else ((*above[0], folder.name), above[1])

    def _walk_up(self, folder: Path) -> _Folder:
        """Regular packages: the folders holding an `__init__.py`, up to the first that does not."""
        if folder == folder.parent or not _is_package_dir(folder):
            return (), folder
        key = ("walk", folder)
        if key not in self._memo:
            self._memo[key] = self._walk_up(folder.parent)
        above = self._memo[key]
        assert above is not None
        return (*above[0], folder.name), above[1]
