"""Pass 2: source text + task index -> new text, changes and diagnostics.

Reading (calls.py) and deciding (plan.py) work on the `ast` tree; only a file that needs an edit
is parsed with libcst (cstedit.py, imported on first use), and every edit is verified (verify.py)
before it is returned.
"""

from __future__ import annotations

import ast
import bisect
import re
import sys
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import replace

from codemods.calls import candidate_nodes, scan_calls
from codemods.model import (
    PARITY_OPTIONS,
    Diagnostic,
    FileResult,
    ScannedCalls,
    Severity,
    StatementEdit,
    TaskIndex,
)
from codemods.plan import Edit, Plan, plan_calls
from codemods.symbols import SymbolTable, with_module
from codemods.verify import verify_statements


def rewrite_source(
    source: str,
    index: TaskIndex,
    *,
    path: str,
    module: str = "",
    is_package: bool = False,
    symbols: SymbolTable | None = None,
    options: Iterable[str] = PARITY_OPTIONS,
) -> FileResult:
    """Source text + index -> the new text, the changes and the diagnostics. Never raises.

    Names are looked up in this module's own constants and imports, then in `symbols` (the
    constants of the other modules read, as `build_index` saw them).
    """
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError) as error:
        return FileResult(path, source, diagnostics=(parse_error(path, error),))
    scanned = scan_calls(tree, source_lines(source), module=module, is_package=is_package)
    table = with_module(symbols or SymbolTable(), tree, module, is_package, path)
    plan = plan_calls(scanned.sites, index, path=path, options=options, symbols=table)
    return apply_plan(source, tree, scanned, plan, path=path)


def apply_plan(
    source: str, tree: ast.Module, scanned: ScannedCalls, plan: Plan, *, path: str
) -> FileResult:
    """Make the planned edits and verify them; an edit that does not verify changes nothing."""
    if not plan.edits:
        return FileResult(path, source, diagnostics=plan.diagnostics)
    new_source, problem = safe_edit(source, tree, plan, scanned)
    return file_result(path, source, plan, new_source, problem)


def safe_edit(
    source: str, tree: ast.Module, plan: Plan, scanned: ScannedCalls
) -> tuple[str, str | None]:
    """(new source, None), or (the source, what is wrong) when the edit fails or does not verify."""
    statements, problem = safe_statement_edits(source, tree, plan, scanned)
    return (source, problem) if problem is not None else (splice(source, statements), None)


def safe_statement_edits(
    source: str, tree: ast.Module, plan: Plan, scanned: ScannedCalls
) -> tuple[tuple[StatementEdit, ...], str | None]:
    """`statement_edits`, with an exception as what is wrong."""
    try:
        return statement_edits(source, tree, plan.edits, scanned)
    except Exception as error:
        first_line = (str(error).strip().splitlines() or [""])[0]
        return (), f"{type(error).__name__}: {first_line}"


def file_result(
    path: str, source: str, plan: Plan, new_source: str, problem: str | None
) -> FileResult:
    """The result of a planned edit: the new text, or the unsafe-rewrite error and no change."""
    if problem is not None:
        unsafe = Diagnostic(
            path,
            plan.edits[0].line,
            "unsafe-rewrite",
            Severity.ERROR,
            f"the rewrite did not verify ({problem}); the file was left alone",
        )
        return FileResult(path, source, diagnostics=(*plan.diagnostics, unsafe))
    return FileResult(path, source, new_source, plan.changes, plan.diagnostics)


def with_bytes(result: FileResult, data: bytes, encoding: str) -> FileResult:
    """The result with the file's bytes before and after the edit (`data` decodes to the
    result's source): the encoded insertions spliced into `data`. An edit that cannot be
    written that way is unsafe-rewrite and changes nothing."""
    if result.new_source is None:
        return result
    from codemods.splice import SpliceError, splice

    try:
        new_bytes = splice(data, encoding, result.source, result.new_source)
    except SpliceError as error:
        line = result.changes[0].line if result.changes else 1
        unsafe = Diagnostic(
            result.path,
            line,
            "unsafe-rewrite",
            Severity.ERROR,
            f"the rewrite could not be written ({error}); the file was left alone",
        )
        return FileResult(result.path, result.source, diagnostics=(*result.diagnostics, unsafe))
    return replace(result, source_bytes=data, new_bytes=new_bytes)


LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$")


def statement_spans(tree: ast.Module) -> list[tuple[int, int, list[ast.stmt]]]:
    """(first line, last line, statements) of each top-level statement, decorators included;
    statements that share a line are merged."""
    spans: list[tuple[int, int, list[ast.stmt]]] = []
    for statement in tree.body:
        decorators = getattr(statement, "decorator_list", [])
        first = min([statement.lineno, *(d.lineno for d in decorators)])
        last = statement.end_lineno or statement.lineno
        if spans and first <= spans[-1][1]:
            previous = spans[-1]
            spans[-1] = (previous[0], max(last, previous[1]), [*previous[2], statement])
        else:
            spans.append((first, last, [statement]))
    return spans


def edit_statements(
    source: str, tree: ast.Module, edits: Sequence[Edit], scanned: ScannedCalls
) -> tuple[str, str | None]:
    """Apply the edits with libcst, parsing only the top-level statements that hold them; verify
    each edited statement. Returns the new source, and what is wrong with it if anything."""
    statements, problem = statement_edits(source, tree, edits, scanned)
    if problem is not None:
        return source, problem
    return splice(source, statements), None


def _localize(edits: Iterable[Edit], scanned: ScannedCalls, first: int) -> list[Edit]:
    """The edits with ordinals counted from line `first` on."""
    return [
        replace(e, ordinal=e.ordinal - bisect.bisect_left(scanned.candidate_lines[e.space], first))
        for e in edits
    ]


def statement_edits(
    source: str, tree: ast.Module, edits: Sequence[Edit], scanned: ScannedCalls
) -> tuple[tuple[StatementEdit, ...], str | None]:
    """Each edited top-level statement's new text, verified; or what is wrong."""
    from codemods import cstedit  # libcst costs ~0.1 s to import; most runs edit nothing

    lines = LINE.findall(source)
    spans = statement_spans(tree)
    starts = [span[0] for span in spans]
    by_span: dict[int, list[Edit]] = defaultdict(list)
    for edit in edits:
        line = scanned.candidate_lines[edit.space][edit.ordinal]
        by_span[bisect.bisect_right(starts, line) - 1].append(edit)
    done = []
    for position in sorted(by_span):
        first, last, statements = spans[position]
        local = _localize(by_span[position], scanned, first)
        chunk = "".join(lines[first - 1 : last])
        new_chunk = cstedit.edit_source(chunk, local, scanned.callees)
        problem = verify_statements(statements, new_chunk, local, scanned.callees)
        if problem is not None:
            return (), problem
        done.append(StatementEdit(first, last, new_chunk))
    return tuple(done), None


def splice(source: str, statements: Sequence[StatementEdit]) -> str:
    """`source` with the statements' lines replaced (in file order, not overlapping)."""
    lines = LINE.findall(source)
    for statement in reversed(statements):
        lines[statement.first - 1 : statement.last] = [statement.text]
    return "".join(lines)


def reuse_statement_edits(
    source: str, statements: Sequence[StatementEdit], edits: Sequence[Edit], scanned: ScannedCalls
) -> str | None:
    """The new text from statements an edit rewrote before (a cache), verified again against
    `source` statement by statement as a fresh edit is; None when anything does not fit."""
    lines = LINE.findall(source)
    previous = 0
    covered = 0
    for statement in statements:
        first, last = statement.first, statement.last
        if not previous < first <= last <= len(lines):
            return None
        previous = last
        inside = [e for e in edits if first <= scanned.candidate_lines[e.space][e.ordinal] <= last]
        if not inside:
            return None
        covered += len(inside)
        try:
            before = ast.parse("".join(lines[first - 1 : last]))
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            return None
        local = _localize(inside, scanned, first)
        nodes = candidate_nodes(before, scanned.callees)
        for edit, original in zip(local, inside, strict=True):
            found = nodes[edit.space]
            expected = scanned.candidate_lines[edit.space][original.ordinal] - first + 1
            if not 0 <= edit.ordinal < len(found) or found[edit.ordinal].lineno != expected:
                return None
        if verify_statements(before.body, statement.text, local, scanned.callees) is not None:
            return None
    if covered != len(edits):
        return None
    return splice(source, statements)


def parse_error(path: str, error: Exception) -> Diagnostic:
    line = getattr(error, "lineno", None) or 1
    if isinstance(error, RecursionError | MemoryError):
        return Diagnostic(path, line, "parse-error", Severity.ERROR, "too deeply nested to parse")
    message = getattr(error, "msg", None) or str(error)
    if isinstance(error, SyntaxError) and "null bytes" not in message:
        # Syntax newer than the running Python (e.g. 3.12's `def f[T]()`) fails here too.
        version = ".".join(map(str, sys.version_info[:2]))
        message = f"{message} (read as Python {version})"
    return Diagnostic(path, line, "parse-error", Severity.ERROR, f"cannot parse: {message}")


def source_lines(source: str) -> list[str]:
    """Lines as Python counts them (only \\r\\n, \\r and \\n end a line)."""
    return source.replace("\r\n", "\n").replace("\r", "\n").split("\n")
