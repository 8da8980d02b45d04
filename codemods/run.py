"""The run: discover files, scan them (cached, across processes), link the index, plan, edit."""

from __future__ import annotations

import ast
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from codemods.discovery import discover
from codemods.files import SourceFile, content_digest, display_path, read_source
from codemods.indexfile import IndexFileError, load_index
from codemods.linking import build_index
from codemods.model import (
    PARITY_OPTIONS,
    Diagnostic,
    FileResult,
    FileScan,
    ModuleFacts,
    OptionValue,
    Ref,
    Severity,
    TaskDef,
    TaskIndex,
    ValueExpr,
)
from codemods.modname import ModuleNamer
from codemods.plan import plan_calls
from codemods.report import Report, internal_error, sort_diagnostics
from codemods.symbols import SymbolTable

if TYPE_CHECKING:
    from codemods.cache import Cache

# A 10 MB module takes about 30 s and 1.7 GB to rewrite; far larger ones are generated code.
DEFAULT_MAX_FILE_SIZE = 10 * 1024 * 1024
# Fewer files than this are scanned in this process: starting workers would cost more.
PARALLEL_THRESHOLD = 64

Progress = Callable[[int], Callable[[], None]]


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
    # Processes that scan files (None: one per core).
    jobs: int | None = None
    # Where scans are cached (None: no cache).
    cache_dir: Path | None = None


@dataclass
class Outcome:
    """A run's report plus what writing needs: the changed files as they were read."""

    report: Report
    index: TaskIndex
    sources: dict[str, SourceFile] = field(default_factory=dict)
    # What rewriting another version of a file needs (--patches over uncommitted changes): the
    # constants of every module read, and each parsed file's module name.
    symbols: SymbolTable | None = None
    modules: dict[str, str] = field(default_factory=dict)


def load_index_files(paths: Iterable[Path]) -> list[TaskDef]:
    tasks: list[TaskDef] = []
    for path in paths:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise IndexFileError(f"{display_path(path)}: cannot read ({error})") from None
        tasks.extend(load_index(text, path=display_path(path)))
    return tasks


def _scan_named(item: tuple[Path, str, bool], max_size: int) -> FileScan:
    from codemods.scan import scan_file

    path, module, is_package = item
    return scan_file(path, module=module, is_package=is_package, max_size=max_size)


def _named_as(scan: FileScan, path: Path, names: Callable[[Path], tuple[str, bool]]) -> bool:
    """The scan was made under the file's module name (a file that was not parsed has none)."""
    return scan.facts is None or scan.facts.module == names(path)[0]


def _scan_all(
    paths: Sequence[Path],
    settings: Settings,
    progress: Progress | None,
    stats: dict[Path, tuple[int, int]],
    cache: Cache | None,
    names: Callable[[Path], tuple[str, bool]],
) -> dict[Path, FileScan]:
    """Every file's scan under the module name `names` gives it: from the cache when it is
    current, else computed (in parallel)."""
    tick = progress(len(paths)) if progress is not None else (lambda: None)
    scans: dict[Path, FileScan] = {}
    misses = []
    stats = dict(stats)  # files named explicitly were not stat'ed by discovery: once, here
    for path in paths:
        if cache is not None:
            stat = stats.get(path) or _stat(path)
            if stat is not None:
                stats[path] = stat
            hit = cache.scan(path, *stat) if stat is not None else None
            if hit is not None and _named_as(hit, path, names):
                scans[path] = hit
                tick()
                continue
        misses.append(path)
    if not misses:
        return scans
    scan = partial(_scan_named, max_size=settings.max_file_size)
    items = [(path, *names(path)) for path in misses]
    jobs = settings.jobs or os.cpu_count() or 1
    if jobs > 1 and len(misses) >= PARALLEL_THRESHOLD:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        methods = multiprocessing.get_all_start_methods()
        context = multiprocessing.get_context("fork" if "fork" in methods else None)
        with ProcessPoolExecutor(jobs, mp_context=context) as pool:
            chunk = max(1, len(misses) // (jobs * 16))
            for path, result in zip(misses, pool.map(scan, items, chunksize=chunk), strict=True):
                scans[path] = result
                tick()
    else:
        for item in items:
            scans[item[0]] = scan(item)
            tick()
    if cache is not None:
        for path in misses:
            stat = stats.get(path)
            if stat is not None:
                cache.put_scan(path, *stat, scans[path])
    return scans


def _stat(path: Path) -> tuple[int, int] | None:
    try:
        info = path.stat()
    except OSError:
        return None
    return info.st_size, info.st_mtime_ns


def _referenced_names(scans: Iterable[FileScan]) -> Iterable[ValueExpr]:
    """Every value pass 2 and the index will look up: task names, options, bases."""
    for scan in scans:
        if scan.facts is not None:
            for declared in scan.facts.declared:
                if declared.name is not None:
                    yield declared.name
                yield from (value for _, value in declared.options)
                yield from (value for _, value in declared.splats)
                if declared.base is not None:
                    yield Ref(declared.base)
        if scan.calls is not None:
            for site in scan.calls.sites:
                if site.task is not None:
                    yield site.task
                yield from site.given.values()


def _read_referenced_modules(
    scans: dict[Path, FileScan], table: SymbolTable, settings: Settings, names: ModuleNamer
) -> None:
    """Constants may live in modules without a hint (`class Names: X = "x"`, a `constants/all.py`
    that is only `from .base import *`): the table reads such a module when a name leads into
    it, each once, however long the chain of re-exports."""
    table.loader = _ModuleLoader(scans, settings, names)
    for expr in list(_referenced_names(list(scans.values()))):
        table.resolve(expr)


class _ModuleLoader:
    """Reads a module not parsed yet, by its name, for the symbol table."""

    def __init__(self, scans: dict[Path, FileScan], settings: Settings, names: ModuleNamer) -> None:
        self.scans = scans
        self.settings = settings
        self.module_names = names
        self.by_stem: dict[str, list[Path]] | None = None

    def __call__(self, module: str) -> ModuleFacts | None:
        if self.by_stem is None:  # naming a file costs stats: only those that may match
            self.by_stem = {}
            for path, scan in self.scans.items():
                if scan.facts is None and scan.problem is None:
                    stem = path.parent.name if path.name == "__init__.py" else path.stem
                    self.by_stem.setdefault(stem, []).append(path)
        for path in self.by_stem.get(module.rpartition(".")[2], ()):
            name, is_package = self.module_names(path)
            if name == module and self.scans[path].facts is None:
                from codemods.scan import scan_file

                limit = self.settings.max_file_size
                scan = scan_file(
                    path, module=name, is_package=is_package, max_size=limit, force=True
                )
                self.scans[path] = scan
                return scan.facts
        return None


def _symlink(link: Path) -> Diagnostic:
    return Diagnostic(
        display_path(link),
        1,
        "symlink",
        Severity.INFO,
        "skipped: a symbolic link is never read or written; its target is processed where it lives",
    )


def collect(settings: Settings, progress: Progress | None = None) -> Outcome:
    """Both passes over the settings' trees; reads files, writes nothing.

    `progress(total)`, when given, returns a function called once per file scanned.
    """
    found = discover(settings.paths, settings.exclude)
    targets = set(found.files)
    loaded = load_index_files(settings.index_files)
    stats = found.stats
    if settings.workers or settings.index_files:
        workers = discover(settings.workers, settings.exclude)
        indexed = set(workers.files)
        stats = {**stats, **workers.stats}
    else:
        indexed = targets
    cache = None
    if settings.cache_dir is not None:
        from codemods.cache import open_cache

        cache = open_cache(settings.cache_dir, settings.source_roots, settings.max_file_size)
    names = ModuleNamer(settings.source_roots)
    files = sorted(targets | indexed, key=os.fspath)
    scans = _scan_all(files, settings, progress, stats, cache, names)
    problems = [_symlink(link) for link in found.symlinks]
    problems += [s.problem for s in scans.values() if s.problem is not None]
    table = SymbolTable.from_facts(s.facts for s in scans.values() if s.facts is not None)
    _read_referenced_modules(scans, table, settings, names)
    ordered = sorted(scans.items(), key=lambda item: os.fspath(item[0]))
    declaring = [s.facts for p, s in ordered if p in indexed and s.facts is not None]
    index = build_index(
        declaring, loaded, symbols=table, worker_defaults=dict(settings.worker_defaults)
    )
    sources: dict[str, SourceFile] = {}
    results = []
    for path, scan in ordered:
        if path in targets and scan.calls is not None:
            results.append(_apply(path, scan, index, table, settings, sources, cache))
    if cache is not None:
        cache.save()
    diagnostics = sort_diagnostics(
        [*problems, *index.diagnostics, *(d for r in results for d in r.diagnostics)]
    )
    report = Report(results, diagnostics, files_scanned=len(targets), tasks_indexed=len(index))
    modules = {scan.display: scan.facts.module for _, scan in ordered if scan.facts is not None}
    return Outcome(report, index, sources, table, modules)


def _apply(
    path: Path,
    scan: FileScan,
    index: TaskIndex,
    table: SymbolTable,
    settings: Settings,
    sources: dict[str, SourceFile],
    cache: Cache | None,
) -> FileResult:
    """Plan a file's calls; read and edit it only when something changes."""
    from codemods.rewrite import file_result, parse_error, safe_edit, with_bytes

    assert scan.calls is not None
    display = scan.display
    try:
        plan = plan_calls(
            scan.calls.sites, index, path=display, options=settings.options, symbols=table
        )
        if not plan.edits:
            return FileResult(display, "", diagnostics=plan.diagnostics)
        source = read_source(path)
        if isinstance(source, Diagnostic):
            return FileResult(display, "", diagnostics=(source,))
        if content_digest(source.data) != scan.digest:
            changed = Diagnostic(
                display, 1, "read-error", Severity.ERROR,
                "the file changed while celery-codemod ran; run again",
            )  # fmt: skip
            return FileResult(display, source.text, diagnostics=(*plan.diagnostics, changed))
        sources[display] = source
        key = content_digest(repr((scan.digest, plan.edits, sorted(scan.calls.callees))).encode())
        done = cache.edit(key) if cache is not None else None
        if done is None:
            try:
                tree = ast.parse(source.text)
            except (SyntaxError, ValueError, RecursionError, MemoryError) as error:
                return FileResult(display, source.text, diagnostics=(parse_error(display, error),))
            new_source, problem = safe_edit(source.text, tree, plan, scan.calls)
            if cache is not None:
                cache.put_edit(key, new_source if problem is None else None, problem)
        else:
            new_source = done[0] if done[0] is not None else source.text
            problem = done[1]
        result = file_result(display, source.text, plan, new_source, problem)
        return with_bytes(result, source.data, source.encoding)
    except RecursionError:
        problem = "too deeply nested to analyse"
        return FileResult(
            display,
            "",
            diagnostics=(Diagnostic(display, 1, "parse-error", Severity.ERROR, problem),),
        )
    except Exception as error:
        return FileResult(display, "", diagnostics=(internal_error(display, error),))
