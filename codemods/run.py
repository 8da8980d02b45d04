"""The run: discover files, scan them (cached, across processes), link the index, plan, edit."""

from __future__ import annotations

import ast
import dataclasses
import gc
import os
import types
import typing
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from codemods.appclasses import AppClasses
from codemods.coverage import checked_calls, coverage_warning
from codemods.discovery import Discovered, Stat, discover, key_maker, stat_key
from codemods.files import SourceFile, content_digest, display_path, read_unchanged
from codemods.indexfile import IndexFileError, load_index
from codemods.layout import imports_in_bytes, infer_layout, marker_roots
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
    StatementEdits,
    TaskDef,
    TaskIndex,
    ValueExpr,
)
from codemods.modname import ModuleNamer
from codemods.plan import is_test_path, plan_calls
from codemods.report import Report, internal_error, sort_diagnostics
from codemods.serial import DecodeError, EncodeError
from codemods.symbols import SymbolTable

if TYPE_CHECKING:
    from codemods.cache import Cache

# Larger modules are generated code. The densest 10 MB module (every call with a 900-element
# list) needs about 2.3 GB, mostly for Python's ast of it (benchmarks/dense.py).
DEFAULT_MAX_FILE_SIZE = 10 * 1024 * 1024
# Fewer files than this are scanned in this process: starting workers would cost more.
PARALLEL_THRESHOLD = 64

Progress = Callable[[int], Callable[[], None]]
T = TypeVar("T")


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
    # Scans also read what each module does with task results (`results`).
    results: bool = False
    # The new text of each changed file is shown or written; False when only which calls
    # change is shown (`fix --check` without a diff), so that an edit made before of the same
    # content and plan need not be made again.
    edited_text: bool = True


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
    app_classes: AppClasses | None = None


def load_index_files(paths: Iterable[Path]) -> list[TaskDef]:
    tasks: list[TaskDef] = []
    for path in paths:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise IndexFileError(f"{display_path(path)}: cannot read ({error})") from None
        tasks.extend(load_index(text, path=display_path(path)))
    return tasks


def _scan_all(
    paths: Sequence[str],
    settings: Settings,
    progress: Progress | None,
    found: Sequence[Discovered],
    cache: Cache | None,
    names: ModuleNamer,
    predict: Predict | None = None,
    planned: Collection[str] | None = None,
) -> dict[str, FileScan]:
    """Every file's scan under the module name `names` gives it: from the cache when it is
    current, else computed (in parallel). `predict`, given the files to scan and the scans found
    in the cache, gives the namer to scan them with instead. A cached scan of a file not in
    `planned` (when given) comes without its call sites (`calls_apart`)."""
    tick = progress(len(paths)) if progress is not None else (lambda: None)
    scans: dict[str, FileScan] = {}
    misses: list[str] = []
    namers: dict[str, Callable[[], tuple[str, bool]]] = {}
    keys: dict[str, bytes] = {}
    digests_found: dict[str, bytes] = {}
    digests: dict[str, bytes] = {}
    if cache is not None:
        digests = {k: v for d in found for k, v in d.digests.items()}
        stats = {k: v for d in found for k, v in d.stats.items()}
        cache.load([folder for d in found for folder in d.folders], settings.max_file_size)
        to_key = key_maker()
        # Before the layout is known, a cached scan made under another module name is taken:
        # the caller scans again each file whose final name differs.
        any_name = predict is not None
        plain_modules, plain_inits = cache.plain_blobs()
        plain: list[str] = []
        plain_scan = plain_scans()
        # Decoding builds many small records, none of them cyclic: the cyclic collector would
        # only walk them again and again (a third of the decoding time, and as much later).
        # They are kept out of its way; acyclic objects are still freed when unused.
        collecting = gc.isenabled()
        gc.disable()
        try:
            for path in paths:
                digest = digests.get(path)
                if digest is not None and (
                    digest in plain_inits
                    if path[-12:] == "/__init__.py" or path == "__init__.py"
                    else digest in plain_modules
                ):
                    scans[path] = plain_scan(path, digest)  # git vouches; no hint in it
                    plain.append(path)
                    tick()
                    continue
                key = keys[path] = to_key(path)
                namers[path] = _namer(path, names)
                vouched = digest is not None
                if digest is None:
                    stat = stats.get(path) or _stat(path)
                    digest = cache.digest(key, stat) if stat is not None else None
                    if digest is None:
                        digest = _digest(path)
                hit = None
                if digest is not None:
                    digests_found[path] = digest
                    hit = _cached_scan(
                        cache, settings, key, path, digest, namers[path], vouched=vouched,
                        any_name=any_name, calls=planned is None or path in planned,
                    )  # fmt: skip
                if hit is None:
                    misses.append(path)
                else:
                    scans[path] = hit
                    tick()
        finally:
            cache.found_plain(plain, digests)
            if collecting:
                gc.freeze()
                gc.enable()
    else:
        misses = list(paths)
    if not misses:
        return scans
    if predict is not None:
        names = predict(misses, scans)
        if cache is not None:  # a file renamed by the layout was cached under its new name
            namers.update((path, _namer(path, names)) for path in misses)
            missed, misses = misses, []
            for path in missed:
                digest = digests_found.get(path)
                hit = None
                if digest is not None:
                    hit = _cached_scan(
                        cache, settings, keys[path], path, digest, namers[path],
                        vouched=path in digests, any_name=False,
                        calls=planned is None or path in planned,
                    )  # fmt: skip
                if hit is None:
                    misses.append(path)
                else:
                    scans[path] = hit
                    tick()
    # A file git vouches for needs no stat: the digest of what is read is the key.
    before = {p: _stat(p) for p in misses if p not in digests} if cache is not None else {}
    for path, scan in _scan_files(misses, settings, tick, names):
        scans[path] = scan
        stat = before.get(path)
        if cache is not None and (stat is not None or path in digests):
            cache.put_scan(keys[path], stat, scan, namers[path], settings.max_file_size)
    return scans


def _cached_scan(
    cache: Cache,
    settings: Settings,
    key: bytes,
    path: str,
    digest: bytes,
    namer: Callable[[], tuple[str, bool]],
    *,
    vouched: bool,
    any_name: bool,
    calls: bool,
) -> FileScan | None:
    """The cached scan of the file, if current and complete enough for this run: a scan `fix`
    made holds nothing of what the module does with results, which `results` needs."""
    hit = cache.scan(
        key, path, digest, namer, settings.max_file_size, vouched=vouched, any_name=any_name,
        calls=calls,
    )  # fmt: skip
    if hit is not None and settings.results and hit.facts is not None and hit.results is None:
        return None
    return hit


def plain_scans() -> Callable[[str, bytes], FileScan]:
    """`FileScan(display, digest=digest)` as a function. A warm run makes one per file without a
    hint: setting the slots directly costs half what the frozen dataclass's `__init__` does."""
    fields = dataclasses.fields(FileScan)
    slots: dict[str, Any] = {f.name: vars(FileScan).get(f.name) for f in fields}
    if (
        hasattr(FileScan, "__post_init__")
        or any(type(slot) is not types.MemberDescriptorType for slot in slots.values())
        or any(f.default is dataclasses.MISSING for f in fields if f.name != "display")
    ):
        return lambda display, digest: FileScan(display, digest=digest)
    new = object.__new__
    set_display, set_digest = slots["display"].__set__, slots["digest"].__set__
    defaults = [
        (slots[f.name].__set__, f.default) for f in fields if f.name not in ("display", "digest")
    ]

    def plain(display: str, digest: bytes) -> FileScan:
        scan = new(FileScan)
        set_display(scan, display)
        set_digest(scan, digest)
        for set_value, value in defaults:
            set_value(scan, value)
        return scan

    return plain


def _scan_files(
    paths: list[str], settings: Settings, tick: Callable[[], None], names: ModuleNamer
) -> Iterable[tuple[str, FileScan]]:
    """Scan files, in worker processes when there are many; results come back as bytes."""
    from codemods.scan import scan_file  # parsing machinery: only when something is not cached

    limit = settings.max_file_size
    results = settings.results
    items = [(path, *names(Path(path))) for path in paths]
    jobs = settings.jobs or os.cpu_count() or 1
    if jobs > 1 and len(paths) >= PARALLEL_THRESHOLD:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        from codemods.cache import scan_codec

        codec = scan_codec()
        encoded = partial(_scan_encoded, limit=limit, results=results)
        methods = multiprocessing.get_all_start_methods()
        context = multiprocessing.get_context("fork" if "fork" in methods else None)
        with ProcessPoolExecutor(jobs, mp_context=context) as pool:
            chunk = max(1, len(paths) // (jobs * 16))
            for item, data in zip(items, pool.map(encoded, items, chunksize=chunk), strict=True):
                path, module, is_package = item
                scan = None
                if data is not None:
                    with suppress(DecodeError):
                        scan = codec.decode(data, own_path=display_path(Path(path)))
                if scan is None:  # it could not be sent back: scan it here
                    scan = scan_file(
                        Path(path),
                        module=module,
                        is_package=is_package,
                        max_size=limit,
                        results=results,
                    )
                tick()
                yield path, scan
    else:
        for path, module, is_package in items:
            scan = scan_file(
                Path(path), module=module, is_package=is_package, max_size=limit, results=results
            )
            tick()
            yield path, scan


def _scan_encoded(item: tuple[str, str, bool], limit: int, results: bool = False) -> bytes | None:
    """In a worker process: the scan, encoded (records nested deeply do not pickle)."""
    from codemods.cache import scan_codec
    from codemods.scan import scan_file

    path, module, is_package = item
    scan = scan_file(
        Path(path), module=module, is_package=is_package, max_size=limit, results=results
    )
    try:
        return scan_codec().encode(scan, own_path=scan.display)
    except EncodeError:
        return None


def _namer(path: str, names: ModuleNamer) -> Callable[[], tuple[str, bool]]:
    return lambda: names(Path(path))


def _stat(path: str) -> Stat | None:
    try:
        return stat_key(os.lstat(path))
    except OSError:
        return None


def _digest(path: str) -> bytes | None:
    try:
        with open(path, "rb") as handle:
            return content_digest(handle.read())
    except OSError:
        return None


def _referenced_names(
    scans: Iterable[FileScan], apart: Mapping[str, tuple[ValueExpr, ...]]
) -> Iterable[ValueExpr]:
    """Every value pass 2 and the index will look up: task names, options, bases. `apart`: by
    path, what the call sites of the scans without them (`calls_apart`) look up."""
    for scan in scans:
        if scan.facts is not None:
            for declared in scan.facts.declared:
                if declared.name is not None:
                    yield declared.name
                yield from (value for _, value in declared.options)
                yield from (value for _, value in declared.splats)
                if declared.base is not None:
                    yield Ref(declared.base)
                receiver = (declared.decorator or "").rpartition(".")[0]
                if receiver and receiver.partition(".")[0] != "celery":
                    yield Ref(receiver)  # the app: its module may hold no hint (`app = make()`)
        if scan.calls is not None:
            for site in scan.calls.sites:
                if site.task is not None:
                    yield site.task
                yield from site.given.values()
        elif scan.calls_apart:
            yield from apart.get(scan.display, ())


def _read_referenced_modules(
    scans: dict[str, FileScan],
    table: SymbolTable,
    settings: Settings,
    names: ModuleNamer,
    calls_apart: Mapping[str, tuple[ValueExpr, ...]] | None = None,
) -> None:
    """Constants may live in modules without a hint (`class Names: X = "x"`, a `constants/all.py`
    that is only `from .base import *`): the table reads such a module when a name leads into
    it, each once, however long the chain of re-exports."""
    table.loader = _ModuleLoader(scans, settings, names)
    for expr in list(_referenced_names(list(scans.values()), calls_apart or {})):
        table.resolve(expr)


class _ModuleLoader:
    """Reads a module not parsed yet, by its name, for the symbol table."""

    def __init__(self, scans: dict[str, FileScan], settings: Settings, names: ModuleNamer) -> None:
        self.scans = scans
        self.settings = settings
        self.module_names = names
        self.by_stem: dict[str, list[str]] | None = None

    def __call__(self, module: str) -> ModuleFacts | None:
        if self.by_stem is None:  # naming a file costs stats: only those that may match
            self.by_stem = {}
            for path, scan in self.scans.items():
                if scan.facts is None and scan.problem is None:
                    folder, _, name = path.rpartition("/")
                    stem = folder.rpartition("/")[2] if name == "__init__.py" else name[:-3]
                    self.by_stem.setdefault(stem, []).append(path)
        for path in self.by_stem.get(module.rpartition(".")[2], ()):
            name, is_package = self.module_names(Path(path))
            if name == module and self.scans[path].facts is None:
                from codemods.scan import scan_file

                limit = self.settings.max_file_size
                scan = scan_file(
                    Path(path), module=name, is_package=is_package, max_size=limit, force=True
                )
                self.scans[path] = scan
                return scan.facts
        return None


Predict = Callable[[Sequence[str], Mapping[str, FileScan]], ModuleNamer]


def _parsed_imports(scans: Mapping[str, FileScan]) -> dict[str, tuple[str, ...]]:
    return {
        path: scan.facts.absolute_imports
        for path, scan in scans.items()
        if scan.facts is not None and scan.facts.absolute_imports
    }


def _guessed_imports(paths: Sequence[str]) -> dict[str, tuple[str, ...]]:
    """The imports of the files that will be parsed, read without parsing them."""
    from codemods.scan import CALL_HINTS, DECLARATION_HINTS, has_hint

    found = {}
    for path in paths:
        try:
            with open(path, "rb") as handle:
                data = handle.read()
        except OSError:
            continue
        if has_hint(data, DECLARATION_HINTS + CALL_HINTS) or (
            path.endswith("__init__.py") and b"import" in data
        ):
            found[path] = imports_in_bytes(data)
    return found


def _infer_layout(
    files: Sequence[str],
    imports: Mapping[str, Iterable[str]],
    settings: Settings,
    names: ModuleNamer,
) -> tuple[ModuleNamer, Mapping[str, str]]:
    """A namer for the source roots the code implies (through the absolute `imports` of the
    files), and why each root was chosen."""
    real = names.real_paths(files)
    imports = {names.real_path(path): found for path, found in imports.items()}
    given = [*settings.paths, *settings.workers, Path(".")]
    bounds = {os.path.realpath(p if p.is_dir() else p.parent) for p in given}
    layout = infer_layout(real, imports, marker_roots(real, bounds))
    if not layout:
        return names, {}
    return ModuleNamer(tops=layout.tops, roots=layout.roots, physical=True), layout.reasons


def _named_as(scan: FileScan, path: str, names: ModuleNamer) -> bool:
    """The scan was made under the file's module name (a file that was not parsed has none)."""
    return scan.facts is None or scan.facts.module == names(path)[0]


def _source_roots(
    scans: Mapping[str, FileScan], names: ModuleNamer, reasons: Mapping[str, str], given: bool
) -> tuple[tuple[str, str], ...]:
    """The roots the names of the files that declare or call tasks start from, and why."""
    found: dict[str, str] = {}
    roots: set[Path] = set()  # each shown once: showing a folder costs a relpath
    for path, scan in scans.items():
        facts = scan.facts
        calls = scan.calls_apart or (scan.calls is not None and scan.calls.sites)
        if facts is None or not (facts.declared or facts.apps or calls):
            continue
        root = names.root(path)
        if root in roots:
            continue
        roots.add(root)
        why = "--source-root" if given else reasons.get(str(root), "__init__.py files")
        found.setdefault(display_path(root), why)
    return tuple(sorted(found.items()))


def _symlink(link: str) -> Diagnostic:
    return Diagnostic(
        display_path(Path(link)),
        1,
        "symlink",
        Severity.INFO,
        "skipped: a symbolic link is never read or written; its target is processed where it lives",
    )


@dataclass
class Gathered:
    """Pass 1 over the settings' trees: every file's scan, the constants and the task index."""

    targets: set[str]  # files under PATHS (rewritten, and searched for calls)
    scans: dict[str, FileScan]  # every file read, in path order
    table: SymbolTable
    index: TaskIndex
    problems: list[Diagnostic]
    cache: Cache | None
    source_roots: tuple[tuple[str, str], ...] = ()
    loaded_tasks: int = 0  # from --index files


def collect(settings: Settings, progress: Progress | None = None) -> Outcome:
    """Both passes over the settings' trees; reads files, writes nothing.

    `progress(total)`, when given, returns a function called once per file scanned.
    """
    gathered = gather(settings, progress)
    targets, table, index, cache = gathered.targets, gathered.table, gathered.index, gathered.cache
    ordered = list(gathered.scans.items())
    app_classes = AppClasses((s.facts for _, s in ordered if s.facts is not None), table.canonical)
    sources: dict[str, SourceFile] = {}
    results = []
    for path, scan in ordered:
        if path in targets and scan.calls is not None:
            results.append(_apply(path, scan, index, table, settings, sources, cache, app_classes))
    if cache is not None:
        cache.save()
    checked = checked_calls(_called_names(gathered), index)
    where = display_path(settings.paths[0]) if settings.paths else "."
    incomplete = coverage_warning(index, checked, where=where, loaded=gathered.loaded_tasks)
    diagnostics = sort_diagnostics(
        [*gathered.problems, *index.diagnostics, *(d for r in results for d in r.diagnostics)]
        + ([incomplete] if incomplete is not None else [])
    )
    report = Report(
        results,
        diagnostics,
        files_scanned=len(targets),
        tasks_indexed=len(index),
        source_roots=gathered.source_roots,
    )
    modules = {scan.display: scan.facts.module for _, scan in ordered if scan.facts is not None}
    return Outcome(report, index, sources, table, modules, app_classes)


def _called_names(gathered: Gathered) -> Iterable[str]:
    """The task name of each call under PATHS whose name is known (beat entries that are a
    test's expectations left out)."""
    for path, scan in gathered.scans.items():
        if path not in gathered.targets or scan.calls is None:
            continue
        in_tests = is_test_path(scan.display)
        for site in scan.calls.sites:
            if site.ignore_all or site.task is None:
                continue
            if site.kind == "beat" and (site.compared or in_tests):
                continue
            name = gathered.table.resolve(site.task)
            if isinstance(name, str):
                yield name


def gather(settings: Settings, progress: Progress | None = None) -> Gathered:
    """Discover, scan (cached) and link: what both `fix` and `results` start from. The cache,
    when open, is saved by the caller."""
    separate = bool(settings.workers or settings.index_files)
    # git lists the trees while the cache opens and reads the rows of the folders named.
    listed = _in_background(
        lambda: (
            discover(settings.paths, settings.exclude),
            discover(settings.workers, settings.exclude) if separate else None,
        )
    )
    loaded = load_index_files(settings.index_files)
    cache = None
    if settings.cache_dir is not None:
        from codemods.cache import open_cache

        cache = open_cache(settings.cache_dir)
        if cache is not None:
            named = [*settings.paths, *(settings.workers if separate else ())]
            folders = [os.path.realpath(p) for p in named if os.path.isdir(p)]
            cache.load(folders, settings.max_file_size)
    found, workers = listed()
    targets = set(found.files)
    listings = [found]
    if workers is not None:
        indexed = set(workers.files)
        listings.append(workers)
    else:
        indexed = targets
    names = ModuleNamer(settings.source_roots, physical=True)
    widest = workers if workers is not None else found
    # Discovery lists each tree sorted: the files named are usually in the workers' tree.
    files = list(widest.files) if targets <= indexed else sorted(targets | indexed)
    reasons: Mapping[str, str] = {}
    # Only the files under PATHS are planned: the others' call sites are needed only for the
    # names they look up (not for `results`, which reads every file's beat entries).
    planned = targets if targets != indexed and not settings.results else None
    if settings.source_roots:
        scans = _scan_all(files, settings, progress, listings, cache, names, planned=planned)
    else:
        # Files not cached are scanned under the names their imports suggest before parsing,
        # then named from what the parsed imports say; the few that differ are scanned again.
        def predict(misses: Sequence[str], hits: Mapping[str, FileScan]) -> ModuleNamer:
            imports = {**_parsed_imports(hits), **_guessed_imports(misses)}
            return _infer_layout(files, imports, settings, names)[0]

        scans = _scan_all(files, settings, progress, listings, cache, names, predict, planned)
        names, reasons = _infer_layout(files, _parsed_imports(scans), settings, names)
        parsed = ((p, scan) for p, scan in scans.items() if scan.facts is not None)
        renamed = sorted(p for p, scan in parsed if not _named_as(scan, p, names))
        if renamed:
            scans.update(
                _scan_all(renamed, settings, None, listings, cache, names, planned=planned)
            )
    problems = [_symlink(link) for link in found.symlinks]
    problems += [s.problem for s in scans.values() if s.problem is not None]
    # Linking builds many small records and memos that live until the run ends, none of them
    # cyclic: kept out of the cyclic collector's way, as the scans are.
    collecting = gc.isenabled()
    gc.disable()
    try:
        table = SymbolTable.from_facts(
            (s.facts for s in scans.values() if s.facts is not None),
            apart=cache.bindings_apart() if cache is not None else None,
        )
        apart = cache.call_references() if cache is not None else None
        _read_referenced_modules(scans, table, settings, names, apart)
        ordered = sorted(scans.items())
        declaring = [s.facts for p, s in ordered if p in indexed and s.facts is not None]
        index = build_index(
            declaring, loaded, symbols=table, worker_defaults=dict(settings.worker_defaults)
        )
    finally:
        if collecting:
            gc.freeze()
            gc.enable()
    unparsed = {
        names(path)[0]: scan.display
        for path, scan in ordered
        if path in indexed and scan.problem is not None and scan.problem.code == "parse-error"
    }
    index = replace(index, unparsed=unparsed) if unparsed else index
    roots = _source_roots(scans, names, reasons, bool(settings.source_roots))
    return Gathered(targets, dict(ordered), table, index, problems, cache, roots, len(loaded))


def _in_background(work: Callable[[], T]) -> Callable[[], T]:
    """Start `work` in a thread; the function returned waits for its result (or error)."""
    import threading

    done: list[tuple[bool, object]] = []

    def run() -> None:
        try:
            done.append((True, work()))
        except BaseException as error:
            done.append((False, error))

    thread = threading.Thread(target=run, daemon=True)
    thread.start()

    def wait() -> T:
        thread.join()
        finished, value = done[0]
        if not finished:
            raise typing.cast(BaseException, value)
        return typing.cast(T, value)

    return wait


def _apply(
    path: str,
    scan: FileScan,
    index: TaskIndex,
    table: SymbolTable,
    settings: Settings,
    sources: dict[str, SourceFile],
    cache: Cache | None,
    app_classes: AppClasses | None = None,
) -> FileResult:
    """Plan a file's calls; read and edit it only when something changes."""
    assert scan.calls is not None
    display = scan.display
    try:
        plan = plan_calls(
            scan.calls.sites,
            index,
            path=display,
            options=settings.options,
            symbols=table,
            app_classes=app_classes,
        )
        if not plan.edits:
            return FileResult(display, "", diagnostics=plan.diagnostics)
        source = read_unchanged(Path(path), scan.digest)
        if isinstance(source, Diagnostic):
            return FileResult(display, "", diagnostics=(*plan.diagnostics, source))
        sources[display] = source
        # A cached edit is verified again, statement by statement; one that does not fit is a miss.
        key = content_digest(repr((scan.digest, plan.edits, sorted(scan.calls.callees))).encode())
        path_key = key_maker()(path)
        if not settings.edited_text and cache is not None and cache.has_edit(path_key, key):
            # This content with this plan was edited, verified and spliced in full before; only
            # which calls change is shown, so the text is not made (nor shown, nor written).
            return FileResult(
                display, source.text, changes=plan.changes, diagnostics=plan.diagnostics,
                text_not_made=True,
            )  # fmt: skip
        from codemods.rewrite import (
            Edited,
            edit_planned,
            file_result,
            parse_error,
            reuse_statement_edits,
            with_bytes,
        )

        done = cache.edit(path_key, key) if cache is not None else None
        reused = None
        if done is not None:
            reused = reuse_statement_edits(source.text, done.statements, plan.edits, scan.calls)
        if reused is not None:
            edited = Edited(reused, statements=done.statements if done is not None else ())
        else:
            try:
                tree = ast.parse(source.text)
            except (SyntaxError, ValueError, RecursionError, MemoryError) as error:
                return FileResult(display, source.text, diagnostics=(parse_error(display, error),))
            edited = edit_planned(source.text, tree, plan, scan.calls)
        result = with_bytes(
            file_result(display, source.text, plan, edited), source.data, source.encoding
        )
        # Only an edit made in full (no statement left alone, the bytes spliced) is cached.
        if cache is not None and reused is None and not edited.skipped and result.changed:
            cache.put_edit(path_key, key, StatementEdits(edited.statements))
        return result
    except RecursionError:
        problem = "too deeply nested to analyse"
        return FileResult(
            display,
            "",
            diagnostics=(Diagnostic(display, 1, "parse-error", Severity.ERROR, problem),),
        )
    except Exception as error:
        return FileResult(display, "", diagnostics=(internal_error(display, error),))
