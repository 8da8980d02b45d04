"""The only module that reads and writes the user's files: discover, read, index, rewrite, write."""

from __future__ import annotations

import ast
import io
import os
import tempfile
import tokenize
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from codemods.calls import scan_calls
from codemods.discovery import discover
from codemods.index import build_index, index_tree
from codemods.indexfile import IndexFileError, load_index
from codemods.model import (
    PARITY_OPTIONS,
    CallSite,
    Diagnostic,
    FileResult,
    ModuleFacts,
    Severity,
    TaskDef,
    TaskIndex,
)
from codemods.modname import module_name
from codemods.report import Report, sort_diagnostics
from codemods.rewrite import apply_index, parse_error, source_lines

# Bytes a file must contain to be worth parsing. Pass 1 needs the declarations and the modules
# that make or re-export the app; package `__init__` files are always read for their re-exports.
DECLARATION_HINTS = (b"task", b"Celery", b"celery")
CALL_HINTS = (b"send_task",)


def _has_hint(data: bytes, hints: tuple[bytes, ...]) -> bool:
    return any(hint in data for hint in hints)


@dataclass(frozen=True)
class Settings:
    paths: tuple[Path, ...] = (Path("."),)
    workers: tuple[Path, ...] = ()
    index_files: tuple[Path, ...] = ()
    source_roots: tuple[Path, ...] = ()
    options: tuple[str, ...] = PARITY_OPTIONS
    exclude: tuple[str, ...] = ()


@dataclass(frozen=True)
class SourceFile:
    path: Path
    display: str
    data: bytes
    encoding: str
    text: str


@dataclass
class Outcome:
    """A run's report plus what writing needs: the files as they were read."""

    report: Report
    index: TaskIndex
    sources: dict[str, SourceFile] = field(default_factory=dict)


def display_path(path: Path) -> str:
    return os.path.relpath(path).replace(os.sep, "/")


def read_source(path: Path) -> SourceFile | Diagnostic:
    display = display_path(path)
    try:
        data = path.read_bytes()
    except OSError as error:
        reason = error.strerror or str(error)
        return Diagnostic(display, 1, "read-error", Severity.ERROR, f"cannot read: {reason}")
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
        text = data.decode(encoding)
    except (SyntaxError, LookupError, UnicodeDecodeError) as error:
        return Diagnostic(display, 1, "parse-error", Severity.ERROR, f"cannot decode: {error}")
    return SourceFile(path, display, data, encoding, text)


def _parse(source: SourceFile) -> ast.Module | Diagnostic:
    try:
        return ast.parse(source.text)
    except (SyntaxError, ValueError, RecursionError, MemoryError) as error:
        return parse_error(source.display, error)


def load_index_files(paths: Iterable[Path]) -> list[TaskDef]:
    tasks: list[TaskDef] = []
    for path in paths:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise IndexFileError(f"{display_path(path)}: cannot read ({error})") from None
        tasks.extend(load_index(text, path=display_path(path)))
    return tasks


def collect(settings: Settings) -> Outcome:
    """Both passes over the settings' trees; reads files, writes nothing."""
    targets = discover(settings.paths, settings.exclude)
    loaded = load_index_files(settings.index_files)
    if settings.workers or settings.index_files:
        indexed = set(discover(settings.workers, settings.exclude))
    else:
        indexed = set(targets)
    target_set = set(targets)
    facts: list[ModuleFacts] = []
    problems: list[Diagnostic] = []
    pending: list[tuple[SourceFile, ast.Module, tuple[CallSite, ...]]] = []
    for path in sorted(target_set | indexed):
        source = read_source(path)
        if isinstance(source, Diagnostic):
            problems.append(source)
            continue
        wants_index = path in indexed and (
            path.name == "__init__.py" or _has_hint(source.data, DECLARATION_HINTS)
        )
        wants_calls = path in target_set and _has_hint(source.data, CALL_HINTS)
        if not (wants_index or wants_calls):
            continue
        tree = _parse(source)  # the one parse of this file, shared by both passes
        if isinstance(tree, Diagnostic):
            problems.append(tree)
            continue
        if wants_index:
            module, is_package = module_name(path, settings.source_roots)
            facts.append(
                index_tree(tree, path=source.display, module=module, is_package=is_package)
            )
        if wants_calls:
            pending.append((source, tree, scan_calls(tree, source_lines(source.text))))
    index = build_index(facts, loaded)
    results: list[FileResult] = [
        apply_index(source.text, tree, sites, index, path=source.display, options=settings.options)
        for source, tree, sites in pending
    ]
    diagnostics = sort_diagnostics(
        [*problems, *index.diagnostics, *(d for r in results for d in r.diagnostics)]
    )
    report = Report(results, diagnostics, files_scanned=len(targets), tasks_indexed=len(index))
    return Outcome(report, index, {source.display: source for source, _, _ in pending})


def write_result(result: FileResult, source: SourceFile) -> Diagnostic | None:
    """Replace the file atomically with the new text; refuse if it changed since it was read."""
    assert result.new_source is not None
    path = source.path
    if path.is_symlink():
        return Diagnostic(
            result.path, 1, "write-error", Severity.ERROR, "not written: the path is a symlink"
        )
    try:
        if path.read_bytes() != source.data:
            return Diagnostic(
                result.path,
                1,
                "write-error",
                Severity.ERROR,
                "not written: the file changed since it was read; run again",
            )
        data = result.new_source.encode(source.encoding)
        mode = path.stat().st_mode
        handle, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            os.chmod(temp, mode)
            os.replace(temp, path)
        except BaseException:
            os.unlink(temp)
            raise
    except OSError as error:
        return Diagnostic(
            result.path, 1, "write-error", Severity.ERROR, f"not written: {error.strerror or error}"
        )
    return None
