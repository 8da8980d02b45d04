"""The import name of a module file, which Celery uses in generated task names."""

from __future__ import annotations

from collections.abc import Sequence
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
    path = path.resolve()
    is_package = path.name == "__init__.py"
    for root in sorted((r.resolve() for r in source_roots), key=lambda r: -len(r.parts)):
        if path.is_relative_to(root):
            parts = list(path.relative_to(root).with_suffix("").parts)
            break
    else:
        parts = [path.stem]
        directory = path.parent
        while _is_package_dir(directory) and directory != directory.parent:
            parts.insert(0, directory.name)
            directory = directory.parent
    if is_package:
        parts = parts[:-1]
    return ".".join(parts), is_package
