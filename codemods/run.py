"""The only module that reads and writes the user's files: discover, read, index, rewrite, write."""

from __future__ import annotations

import ast
import io
import os
import tempfile
import tokenize
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from codemods.calls import ScannedCalls, scan_calls
from codemods.discovery import discover
from codemods.index import build_index, index_tree
from codemods.indexfile import IndexFileError, load_index
from codemods.model import (
    PARITY_OPTIONS,
    Diagnostic,
    FileResult,
    ModuleFacts,
    OptionValue,
    Ref,
    Severity,
    TaskDef,
    TaskIndex,
    ValueExpr,
)
from codemods.modname import module_name
from codemods.report import Report, sort_diagnostics
from codemods.rewrite import apply_index, parse_error, source_lines
from codemods.symbols import SymbolTable

# Bytes a file must contain to be worth parsing. Pass 1 needs the declarations and the modules
# that make or re-export the app; package `__init__` files are always read for their re-exports.
DECLARATION_HINTS = (b"task", b"Celery", b"celery")
CALL_HINTS = (b"send_task", b"signature", b"subtask", b"schedule")
MAX_REFERENCE_ROUNDS = 4
# A 10 MB module takes about 30 s and 1.7 GB to rewrite; far larger ones are generated code.
DEFAULT_MAX_FILE_SIZE = 10 * 1024 * 1024


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
    # Worker settings the code does not show, as options: {"ignore_result": True}.
    worker_defaults: tuple[tuple[str, OptionValue], ...] = ()
    # Larger files are reported (file-too-large) and left alone.
    max_file_size: int = DEFAULT_MAX_FILE_SIZE


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


def read_source(path: Path, data: bytes | None = None) -> SourceFile | Diagnostic:
    """The file decoded as Python does (coding cookie, BOM); `data` when already read."""
    display = display_path(path)
    try:
        if data is None:
            data = path.read_bytes()
    except OSError as error:
        reason = error.strerror or str(error)
        return Diagnostic(display, 1, "read-error", Severity.ERROR, f"cannot read: {reason}")
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
        text = data.decode(encoding)
    except (SyntaxError, LookupError, UnicodeDecodeError) as error:
        reason = str(error)
        if isinstance(error, SyntaxError) and "invalid or missing encoding" in reason:
            try:
                data.decode("utf-8")
            except UnicodeDecodeError as not_utf8:
                reason = f"not UTF-8 ({not_utf8}) and no coding declaration"
        return Diagnostic(display, 1, "parse-error", Severity.ERROR, f"cannot decode: {reason}")
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


@dataclass
class _Parsed:
    source: SourceFile
    tree: ast.Module
    facts: ModuleFacts
    scanned: ScannedCalls | None


def _read_module(
    path: Path, settings: Settings, *, calls: bool, data: bytes | None = None
) -> _Parsed | Diagnostic:
    """The one read and parse of a file, shared by both passes."""
    source = read_source(path, data)
    if isinstance(source, Diagnostic):
        return source
    tree = _parse(source)
    if isinstance(tree, Diagnostic):
        return tree
    module, is_package = module_name(path, settings.source_roots)
    try:
        facts = index_tree(tree, path=source.display, module=module, is_package=is_package)
        scanned = None
        if calls:
            lines = source_lines(source.text)
            scanned = scan_calls(tree, lines, module=module, is_package=is_package)
    except RecursionError:
        return Diagnostic(
            source.display, 1, "parse-error", Severity.ERROR, "too deeply nested to analyse"
        )
    except Exception as error:
        return internal_error(source.display, error)
    return _Parsed(source, tree, facts, scanned)


def internal_error(path: str, error: Exception) -> Diagnostic:
    return Diagnostic(
        path,
        1,
        "internal-error",
        Severity.ERROR,
        f"celery-codemod failed on this file ({type(error).__name__}: {error}); "
        "it was left alone. Please report this.",
    )


def _apply(parsed: _Parsed, index: TaskIndex, table: SymbolTable, settings: Settings) -> FileResult:
    assert parsed.scanned is not None
    path = parsed.source.display
    try:
        return apply_index(
            parsed.source.text,
            parsed.tree,
            parsed.scanned,
            index,
            path=path,
            symbols=table,
            options=settings.options,
        )
    except RecursionError:
        problem = Diagnostic(path, 1, "parse-error", Severity.ERROR, "too deeply nested to analyse")
    except Exception as error:
        problem = internal_error(path, error)
    return FileResult(path, parsed.source.text, diagnostics=(problem,))


def _referenced_names(parsed: Iterable[_Parsed]) -> Iterable[ValueExpr]:
    """Every value pass 2 and the index will look up: task names, options, bases."""
    for item in parsed:
        for declared in item.facts.declared:
            if declared.name is not None:
                yield declared.name
            yield from (value for _, value in declared.options)
            yield from (value for _, value in declared.splats)
            if declared.base is not None:
                yield Ref(declared.base)
        if item.scanned is not None:
            for site in item.scanned.sites:
                if site.task is not None:
                    yield site.task
                yield from site.given.values()


def _missing_modules(
    parsed: dict[Path, _Parsed], table: SymbolTable, candidates: dict[str, Path]
) -> list[Path]:
    """Files not read yet that define constants the read ones refer to."""
    missing: set[str] = set()
    for expr in _referenced_names(parsed.values()):
        table.resolve(expr, missing)
    wanted = set()
    for name in missing:
        parts = name.split(".")
        for end in range(len(parts) - 1, 0, -1):
            path = candidates.get(".".join(parts[:end]))
            if path is not None and path not in parsed:
                wanted.add(path)
                break
    return sorted(wanted)


def collect(
    settings: Settings, progress: Callable[[int], Callable[[], None]] | None = None
) -> Outcome:
    """Both passes over the settings' trees; reads files, writes nothing.

    `progress(total)`, when given, returns a function called once per file read.
    """
    found = discover(settings.paths, settings.exclude)
    targets = found.files
    loaded = load_index_files(settings.index_files)
    problems: list[Diagnostic] = [
        Diagnostic(
            display_path(link),
            1,
            "symlink",
            Severity.INFO,
            "skipped: a symbolic link is never read or written; its target is processed where "
            "it lives",
        )
        for link in found.symlinks
    ]
    if settings.workers or settings.index_files:
        indexed = set(discover(settings.workers, settings.exclude).files)
    else:
        indexed = set(targets)
    target_set = set(targets)
    parsed: dict[Path, _Parsed] = {}
    skipped: list[Path] = []
    every_file = sorted(target_set | indexed)
    tick = progress(len(every_file)) if progress is not None else None
    for path in every_file:
        if tick is not None:
            tick()
        data = _peek(path, settings.max_file_size)
        if isinstance(data, Diagnostic):
            problems.append(data)
            continue
        wants_index = path in indexed and (
            path.name == "__init__.py" or data is None or _has_hint(data, DECLARATION_HINTS)
        )
        wants_calls = path in target_set and (data is None or _has_hint(data, CALL_HINTS))
        if not (wants_index or wants_calls):
            skipped.append(path)
            continue
        read = _read_module(path, settings, calls=wants_calls, data=data)
        if isinstance(read, Diagnostic):
            problems.append(read)
        else:
            parsed[path] = read
    table = SymbolTable.from_facts(p.facts for p in parsed.values())
    # Constants may live in modules without a hint (`class Names: X = "x"`): read those too.
    candidates: dict[str, Path] | None = None
    for _ in range(MAX_REFERENCE_ROUNDS):
        if candidates is None:
            candidates = {module_name(p, settings.source_roots)[0]: p for p in skipped}
        extra = _missing_modules(parsed, table, candidates)
        if not extra:
            break
        for path in extra:
            read = _read_module(path, settings, calls=False)
            if isinstance(read, _Parsed):
                parsed[path] = read
                table.add([read.facts])
    declaring = [p.facts for path, p in sorted(parsed.items()) if path in indexed]
    index = build_index(
        declaring, loaded, symbols=table, worker_defaults=dict(settings.worker_defaults)
    )
    pending = [p for _, p in sorted(parsed.items()) if p.scanned is not None]
    results = [_apply(p, index, table, settings) for p in pending]
    diagnostics = sort_diagnostics(
        [*problems, *index.diagnostics, *(d for r in results for d in r.diagnostics)]
    )
    report = Report(results, diagnostics, files_scanned=len(targets), tasks_indexed=len(index))
    return Outcome(report, index, {p.source.display: p.source for p in pending})


def _peek(path: Path, limit: int) -> bytes | Diagnostic | None:
    """The file's bytes for the hint check; None when it cannot be read (the read reports it)."""
    try:
        size = path.stat().st_size
        if size > limit:
            return Diagnostic(
                display_path(path),
                1,
                "file-too-large",
                Severity.WARNING,
                f"skipped: {size:,} bytes is over the limit of {limit:,} (--max-file-size)",
            )
        return path.read_bytes()
    except OSError:
        return None


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
