"""What `results` does: find where each task's result may be read, declare `ignore_result=True`
on the tasks whose results nobody reads, and say which apps need a result backend.

The scans, the index and the writing machinery are `fix`'s (run.gather, commands, gitpatch); the
verdicts are verdicts.py's, the declaration edits declare.py's.
"""

from __future__ import annotations

import ast
import difflib
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

import click

from codemods.commands import FixOptions, _progress, exit_code, write_out
from codemods.coverage import NOT_INDEXED
from codemods.files import SourceFile, content_digest, display_path, read_source, read_unchanged
from codemods.indexfile import IndexFileError
from codemods.linking import SHARED_TASK, TASK_OPTIONS
from codemods.model import (
    Change,
    ClassFacts,
    DeclaredTask,
    Diagnostic,
    FileResult,
    FileScan,
    Severity,
    StatementEdit,
    StatementEdits,
    TaskDef,
)
from codemods.report import EXIT_USAGE, Report, internal_error, sort_diagnostics
from codemods.run import Gathered, Outcome, gather
from codemods.symbols import SymbolTable

if TYPE_CHECKING:
    from codemods.cache import Cache
    from codemods.declare import DeclarationEdit
from codemods.verdicts import (
    UNREAD,
    DefinedApp,
    ResultsFile,
    TaskVerdict,
    UnreadableFile,
    Verdicts,
    decide,
)

OPTION = "ignore_result"
# Task attributes' defaults (celery/app/task.py), to say what renaming a misspelled one changes.
DEFAULTS: Mapping[str, object] = {
    "max_retries": 3,
    "default_retry_delay": 180,
    "ignore_result": False,
    "store_errors_even_if_ignored": False,
    "acks_late": False,
    "track_started": False,
    "rate_limit": None,
    "time_limit": None,
    "soft_time_limit": None,
    "retry_backoff": False,
    "retry_backoff_max": 600,
    "retry_jitter": True,
    "autoretry_for": (),
    "throws": (),
    "priority": None,
    "expires": None,
}


@dataclass(frozen=True)
class ResultsOptions:
    base: FixOptions  # what `results` shares with `fix`: settings, modes, output
    fix_typos: bool = False


@dataclass(frozen=True)
class Typo:
    """A declaration keyword Celery does not know, and the option it probably means."""

    path: str
    line: int
    task: str
    keyword: str
    suggestion: str
    value: object  # the literal value, or the text of an expression


@dataclass
class ResultsRun:
    """Everything a `results` run found, for the output formats."""

    verdicts: Verdicts
    report: Report
    typos: list[Typo]
    # The declaration edits of each changed file (by its display path), to make them again on
    # another version of it.
    planned: dict[str, list[_Planned]] = field(default_factory=dict)


def results(options: ResultsOptions) -> int:
    """Run `results`; return the exit code."""
    from codemods.resultsreport import output

    base = options.base
    try:
        gathered = gather(replace(base.settings, results=True), progress=_progress())
    except IndexFileError as error:
        click.echo(f"celery-codemod: error: {error}", err=True)
        return EXIT_USAGE
    try:
        run, outcome = analyse(gathered, fix_typos=options.fix_typos, text_needed=_shows_text(base))
    finally:
        if gathered.cache is not None:
            gathered.cache.save()
    rewrite = partial(_rewrite_version, planned=run.planned, sources=outcome.sources)
    report = write_out(outcome, run.report, base, rewrite)
    if report is None:
        return EXIT_USAGE
    run.report = report
    output(run, base)
    return exit_code(report, base)


def _shows_text(options: FixOptions) -> bool:
    """Whether the run prints or writes the new text of files: the text report, JSON and GitHub
    annotations say only which declarations change."""
    return (
        options.write
        or options.patches_dir is not None
        or options.show_diff
        or options.output_format == "sarif"
    )


def analyse(
    gathered: Gathered, *, fix_typos: bool, text_needed: bool = True
) -> tuple[ResultsRun, Outcome]:
    """Verdicts, declaration edits and diagnostics over gathered scans (reads only the files
    whose declarations change). Without `text_needed`, an edit made in full before on the same
    content is not made again: only which declarations change is known."""
    scans = gathered.scans
    files = [
        ResultsFile(
            scan.display,
            scan.results,
            tuple(s for s in scan.calls.sites if s.kind == "beat") if scan.calls else (),
            path in gathered.targets,
        )
        for path, scan in scans.items()
        if scan.results is not None
    ]
    unindexed = [(d.path, d.line) for d in gathered.index.diagnostics if d.code in NOT_INDEXED]
    apps = list(_apps(scans, gathered.table))
    declarations = _Declarations(scans, gathered.table)
    bound = [
        task.name
        for task in gathered.index.tasks.values()
        if any(
            key == "shared" and value is False
            for key, value in getattr(
                declarations.functions.get((task.path, task.line)), "options", ()
            )
        )
    ]
    unreadable = list(_unreadable(gathered))
    verdicts = decide(files, gathered.index, gathered.table, apps, unindexed, bound, unreadable)
    typos = list(_typos(gathered, declarations))
    by_task = {v.task.name: v for v in verdicts.tasks}
    edits, notes = _plan(verdicts, declarations, typos, gathered, fix_typos)
    sources: dict[str, SourceFile] = {}
    file_results = [
        _edit_file(path, scan, planned, sources, gathered.cache, text_needed)
        for path, scan, planned in _by_file(edits, scans)
    ]
    diagnostics = sort_diagnostics(
        [
            *gathered.problems,
            *gathered.index.diagnostics,
            *verdicts.diagnostics,
            *notes,
            *(_typo_note(t, by_task.get(t.task), fix_typos) for t in typos),
            *(d for r in file_results for d in r.diagnostics),
        ]
    )
    report = Report(
        file_results,
        diagnostics,
        files_scanned=len(gathered.targets),
        tasks_indexed=len(gathered.index),
    )
    outcome = Outcome(report, gathered.index, sources, gathered.table)
    planned: dict[str, list[_Planned]] = defaultdict(list)
    for item in edits:
        planned[item.path].append(item)
    return ResultsRun(verdicts, report, typos, dict(planned)), outcome


def _unreadable(gathered: Gathered) -> Iterator[UnreadableFile]:
    """The searched files that could not be parsed, with their bytes (None if unreadable)."""
    for path, scan in gathered.scans.items():
        if scan.problem is None or path not in gathered.targets:
            continue
        try:
            data: bytes | None = Path(path).read_bytes()
        except OSError:
            data = None
        yield UnreadableFile(scan.display, scan.problem.code, data)


def _apps(scans: Mapping[str, FileScan], table: SymbolTable) -> Iterator[DefinedApp]:
    """The apps made in the trees, with where their result backend is configured: the app's
    module, modules that set its `conf`, and its `config_from_object` module."""
    parsed = [(scan, scan.facts) for scan in scans.values() if scan.facts is not None]
    by_module = {facts.module: scan for scan, facts in parsed}
    django = next((f.django_settings for _, f in parsed if f.django_settings), None)
    files: dict[str, set[str]] = defaultdict(set)  # app -> files configuring it
    for scan, facts in parsed:
        for app in facts.apps:
            name = table.canonical(app.qualname)
            files[name].add(scan.display)
            for key, value in app.settings:
                source = table.resolve(value) if key == "config_from_object" else None
                if isinstance(source, str):
                    module = source.split(":")[0]
                    if source == "django.conf:settings" and django:
                        module = django
                    config = by_module.get(module)
                    if config is not None:
                        files[name].add(config.display)
    for scan, facts in parsed:
        lines = dict(scan.results.apps) if scan.results is not None else {}
        for app in facts.apps:
            if not app.defined or app.qualname not in lines:
                continue  # not made by Celery(...) or a celery factory
            where = files[table.canonical(app.qualname)]
            backends = sorted(
                (other.display, line, setting)
                for other in scans.values()
                if other.display in where and other.results is not None
                for setting, line in other.results.backends
            )
            yield DefinedApp(app.qualname, scan.display, lines[app.qualname], tuple(backends))


class _Declarations:
    """Where each task is declared, as written: its decorator or class, by (path, line)."""

    def __init__(self, scans: Mapping[str, FileScan], table: SymbolTable) -> None:
        self.table = table
        self.functions: dict[tuple[str, int], DeclaredTask] = {}
        self.by_name: dict[str, list[DeclaredTask]] = defaultdict(list)
        self.classes: dict[tuple[str, int], ClassFacts] = {}
        self.wrappers: set[str] = set()
        self.paths: dict[str, tuple[str, FileScan]] = {}
        for path, scan in scans.items():
            self.paths[scan.display] = (path, scan)
            if scan.facts is None:
                continue
            for declared in scan.facts.declared:
                self.functions[(declared.path, declared.line)] = declared
                if declared.name is not None:
                    name = table.resolve(declared.name)
                else:
                    prefix = f"{declared.module}." if declared.module else ""
                    name = prefix + declared.function
                if isinstance(name, str):
                    self.by_name[name].append(declared)
            for cls in scan.facts.classes:
                self.classes[(cls.path, cls.line)] = cls
            self.wrappers.update(table.canonical(w.qualname) for w in scan.facts.wrappers)

    def siblings(self, task: TaskDef) -> list[DeclaredTask]:
        """Every declaration of the task: those giving it the same name, in any file."""
        return [
            declared
            for declared in self.by_name.get(task.name, [])
            if declared.decorator is not None
        ]

    def direct(self, declared: DeclaredTask) -> bool:
        """Whether the decorator is `app.task` or `shared_task` itself (a project wrapper may
        not take the keyword)."""
        if declared.decorator is None:
            return False
        canonical = self.table.canonical(declared.decorator)
        if canonical in self.wrappers:
            return False
        return canonical in SHARED_TASK or canonical.endswith(".task")


@dataclass(frozen=True)
class _Planned:
    task: TaskDef
    path: str
    edit: DeclarationEdit


def _plan(
    verdicts: Verdicts,
    declarations: _Declarations,
    typos: Sequence[Typo],
    gathered: Gathered,
    fix_typos: bool,
) -> tuple[list[_Planned], list[Diagnostic]]:
    """The declaration edits for unread tasks under PATHS, and why others are left alone.

    A task declared more than once (under `if`/`else`, `try`/`except`) gets every declaration
    edited, or none: one left without the option would make the two declarations differ."""
    from codemods.declare import ATTRIBUTE, KEYWORD, RENAME, DeclarationEdit

    targets = _displayed(gathered.targets, gathered.scans)
    misspelled = {(t.path, t.line): t for t in typos if t.suggestion == OPTION}
    planned: list[_Planned] = []
    notes: list[Diagnostic] = []
    for verdict in verdicts.tasks:
        task = verdict.task
        if verdict.verdict != UNREAD or task.path not in targets:
            continue
        key = (task.path, task.line)
        cls = declarations.classes.get(key)
        siblings = declarations.siblings(task) if key in declarations.functions else []
        edits: list[_Planned] = []
        why = ""
        if siblings:
            for declared in siblings:
                typo = misspelled.get((declared.path, declared.line))
                keywords = {name for name, _ in declared.options}
                if declared.path not in targets:
                    why = f"it is also declared at {declared.path}:{declared.line}, outside PATHS"
                elif typo is not None:
                    if not (fix_typos and typo.value is True):
                        why = "-"  # the typo's note says what to do
                    else:
                        rename = DeclarationEdit(
                            declared.line, declared.function, RENAME, typo.keyword
                        )
                        edits.append(_Planned(task, declared.path, rename))
                elif OPTION in keywords:
                    why = f"its decorator sets {OPTION} to a value the tool cannot read"
                elif declared.splats:
                    why = "its decorator takes `**` options (a new keyword could collide)"
                elif not declarations.direct(declared):
                    why = f"its decorator '{declared.decorator}' wraps the task decorator"
                else:
                    add = DeclarationEdit(declared.line, declared.function, KEYWORD)
                    edits.append(_Planned(task, declared.path, add))
                if why:
                    break
        elif cls is not None:
            if any(name == OPTION for name, _ in cls.attributes):
                why = f"its class sets {OPTION} to a value the tool cannot read"
            else:
                name = cls.qualname.rpartition(".")[2]
                edits.append(_Planned(task, task.path, DeclarationEdit(task.line, name, ATTRIBUTE)))
        else:
            why = "its declaration is not one the tool edits"
        if not why:
            planned.extend(edits)
        elif why != "-":
            notes.append(
                Diagnostic(
                    task.path,
                    task.line,
                    "ignore-result-not-added",
                    Severity.INFO,
                    f"nobody reads the result of '{task.name}', but {why}; "
                    "add ignore_result=True by hand",
                )
            )
    return planned, notes


def _displayed(paths: Iterable[str], scans: Mapping[str, FileScan]) -> set[str]:
    """The paths as the output shows them: each scan says it (a declaration's path is its
    file's), without asking the file system once per file."""
    return {scans[p].display if p in scans else display_path(Path(p)) for p in paths}


def _by_file(
    planned: Sequence[_Planned], scans: Mapping[str, FileScan]
) -> Iterator[tuple[str, FileScan, list[_Planned]]]:
    by_path: dict[str, list[_Planned]] = {}
    for item in planned:
        by_path.setdefault(item.path, []).append(item)
    for path, scan in scans.items():
        if scan.display in by_path:
            yield path, scan, by_path[scan.display]


def _edit_file(
    path: str,
    scan: FileScan,
    planned: list[_Planned],
    sources: dict[str, SourceFile],
    cache: Cache | None,
    text_needed: bool = True,
) -> FileResult:
    """Read the file, make its declaration edits and verify them. An edit made before is taken
    from the cache and verified again (without libcst); when the new text is not needed, an
    edit made in full before is not made again."""
    from codemods.discovery import key_maker

    display = scan.display
    source = read_unchanged(Path(path), scan.digest)
    if isinstance(source, Diagnostic):
        return FileResult(display, "", diagnostics=(source,))
    slot = None
    if cache is not None:
        edits = [p.edit for p in planned]
        key = content_digest(repr(("declarations", scan.digest, edits)).encode())
        slot = (cache, key_maker()(path), key)
        if not text_needed and cache.has_edit(slot[1], key):
            # This content with these edits was edited, verified and spliced in full before.
            sources[display] = source
            changes = _changes(display, planned)
            return FileResult(display, source.text, changes=changes, text_not_made=True)
    result = _edit_source(display, source, planned, slot=slot)
    if result.changed:
        sources[display] = source
    return result


def _rewrite_version(
    display: str,
    data: bytes,
    *,
    planned: Mapping[str, list[_Planned]],
    sources: Mapping[str, SourceFile],
) -> FileResult:
    """The file's declaration edits made again on another version of it (its bytes; HEAD's,
    for patches), each on the same declaration as written there (declare.relocate)."""
    source = read_source(Path(display), data)
    if isinstance(source, Diagnostic):
        return FileResult(display, "", diagnostics=(source,))
    return _edit_source(display, source, planned[display], moved_from=sources[display].text)


def _edit_source(
    display: str,
    source: SourceFile,
    planned: list[_Planned],
    *,
    slot: tuple[Cache, bytes, bytes] | None = None,
    moved_from: str | None = None,
) -> FileResult:
    """The declaration edits made on `source` and verified. `slot`: where the cache keeps them;
    `moved_from`: the text the edits were planned on, when `source` is another version."""
    from codemods.declare import (
        RENAME,
        EditMismatch,
        declaration_statements,
        relocate,
        reuse_declaration_statements,
    )
    from codemods.rewrite import parse_error, splice, with_bytes

    try:
        try:
            tree = ast.parse(source.text)
        except (SyntaxError, ValueError, RecursionError, MemoryError) as error:
            return FileResult(display, source.text, diagnostics=(parse_error(display, error),))
        edits = [p.edit for p in planned]
        if moved_from is not None:
            try:
                edits = relocate(edits, ast.parse(moved_from), tree)
            except EditMismatch as mismatch:
                why = f"the declaration edit cannot be placed on this version ({mismatch})"
                return _unsafe(display, planned[0].edit.line, why)
        planned = [replace(p, edit=e) for p, e in zip(planned, edits, strict=True)]
        changes = _changes(display, planned)
        done = slot[0].edit(slot[1], slot[2]) if slot is not None else None
        new_source = problem = None
        if done is not None:
            new_source = reuse_declaration_statements(source.text, tree, done.statements, edits)
        made: tuple[StatementEdit, ...] = ()
        if new_source is None:
            made, problem = declaration_statements(source.text, tree, edits)
            if problem is None:
                new_source = splice(source.text, made)
        if problem is not None or new_source is None:
            why = f"the declaration edit did not verify ({problem})"
            return _unsafe(display, changes[0].line, why, source.text)
        result = FileResult(display, source.text, new_source, changes)
        if any(p.edit.kind == RENAME for p in planned):
            result = _renamed_bytes(result, source.data, source.encoding)
        else:
            result = with_bytes(result, source.data, source.encoding)
        # Only an edit made in full (verified, the bytes spliced) is cached.
        if slot is not None and made and result.changed and not result.diagnostics:
            slot[0].put_edit(slot[1], slot[2], StatementEdits(made))
        return result
    except RecursionError:
        deep = Diagnostic(display, 1, "parse-error", Severity.ERROR, "too deeply nested to analyse")
        return FileResult(display, "", diagnostics=(deep,))
    except Exception as error:
        return FileResult(display, "", diagnostics=(internal_error(display, error),))


def _changes(display: str, planned: Sequence[_Planned]) -> tuple[Change, ...]:
    return tuple(
        Change(display, p.edit.line, p.task.name, {OPTION: True})
        for p in sorted(planned, key=lambda p: p.edit.line)
    )


def _unsafe(display: str, line: int, why: str, text: str = "") -> FileResult:
    message = f"{why}; the file was left alone"
    diagnostic = Diagnostic(display, line, "unsafe-rewrite", Severity.ERROR, message)
    return FileResult(display, text, diagnostics=(diagnostic,))


def _renamed_bytes(result: FileResult, data: bytes, encoding: str) -> FileResult:
    """A rename is not an insertion: the new text is encoded whole, when the file's text
    encodes back to exactly its bytes (else it is left alone)."""
    assert result.new_source is not None
    try:
        same = result.source.encode(encoding) == data
        new_bytes = result.new_source.encode(encoding)
    except UnicodeEncodeError:
        same = False
    if not same:
        unsafe = Diagnostic(
            result.path,
            result.changes[0].line if result.changes else 1,
            "unsafe-rewrite",
            Severity.ERROR,
            f"the rename cannot be written into this {encoding} file without changing other "
            "bytes; the file was left alone",
        )
        return FileResult(result.path, result.source, diagnostics=(unsafe,))
    return replace(result, source_bytes=data, new_bytes=new_bytes)


# -- misspelled declaration keywords ------------------------------------------------------------


def _typos(gathered: Gathered, declarations: _Declarations) -> Iterator[Typo]:
    """The keywords pass 1 reported as unknown (`unknown-task-option`), with what they mean."""
    reported = {
        (d.path, d.line): d.message
        for d in gathered.index.diagnostics
        if d.code == "unknown-task-option"
    }
    names = {(t.path, t.line): t.name for t in gathered.index.tasks.values()}
    for key, message in sorted(reported.items()):
        declared = declarations.functions.get(key)
        if declared is None:
            continue
        for keyword, value in declared.options:
            if f"passes {keyword}=" not in message:
                continue
            close = difflib.get_close_matches(keyword, sorted(TASK_OPTIONS), n=1, cutoff=0.8)
            if close:
                written = value if isinstance(value, str | int | float | bool | None) else "..."
                yield Typo(
                    key[0], key[1], names.get(key, declared.function), keyword, close[0], written
                )


def _typo_note(typo: Typo, verdict: TaskVerdict | None, fix_typos: bool) -> Diagnostic:
    shown = f"{typo.keyword}={typo.value!r}"
    fixed = f"{typo.suggestion}={typo.value!r}"
    if typo.suggestion == OPTION and typo.value is True:
        if verdict is not None and verdict.verdict == UNREAD:
            what = (
                f"nobody reads the result of '{typo.task}': {shown} is renamed to {fixed}"
                if fix_typos
                else f"nobody reads the result of '{typo.task}', so renaming {shown} to {fixed} "
                "is safe: pass --fix-typos to do it"
            )
        else:
            state = verdict.verdict if verdict is not None else "unknown"
            what = (
                f"Celery ignores {shown}; renaming it to {fixed} would stop storing the results "
                f"of '{typo.task}', which may be read (verdict: {state}): left alone"
            )
    else:
        default = DEFAULTS.get(typo.suggestion, "Celery's default")
        what = (
            f"Celery ignores {shown}; {fixed} would change '{typo.task}' ({typo.suggestion} is "
            f"{default!r} today): a behaviour change, review it and rename it by hand"
            if typo.suggestion in DEFAULTS
            else f"Celery ignores {shown}; {fixed} would change '{typo.task}' ({typo.suggestion} "
            "keeps its default today): a behaviour change, review it and rename it by hand"
        )
    return Diagnostic(typo.path, typo.line, "option-typo", Severity.INFO, what)


def first_evidence(verdict: TaskVerdict) -> str:
    if not verdict.evidence:
        return ""
    e = verdict.evidence[0]
    detail = f" ({e.detail})" if e.detail else ""
    return f"{e.path}:{e.line} {e.kind}{detail}"


def counts(tasks: Iterable[TaskVerdict]) -> dict[str, int]:
    from codemods.verdicts import VERDICTS

    found = dict.fromkeys(VERDICTS, 0)
    for verdict in tasks:
        found[verdict.verdict] += 1
    return found
