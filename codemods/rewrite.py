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
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace

from codemods.appclasses import AppClasses
from codemods.calls import candidate_nodes, parse_ignore, scan_calls
from codemods.masking import Masked, Unmasked, mask, unmask
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
    app_classes: AppClasses | None = None,
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
    plan = plan_calls(
        scanned.sites, index, path=path, options=options, symbols=table, app_classes=app_classes
    )
    return apply_plan(source, tree, scanned, plan, path=path)


def apply_plan(
    source: str, tree: ast.Module, scanned: ScannedCalls, plan: Plan, *, path: str
) -> FileResult:
    """Make the planned edits and verify them; a statement whose edit does not verify is left
    alone, the others are edited."""
    if not plan.edits:
        return FileResult(path, source, diagnostics=plan.diagnostics)
    return file_result(path, source, plan, edit_planned(source, tree, plan, scanned))


@dataclass(frozen=True)
class Skipped:
    """Edits left out, all in one top-level statement, and why."""

    edits: tuple[int, ...]  # positions in the plan
    problem: str
    # True when libcst cannot edit the statement's layout, False when the edit did not verify.
    layout: bool = False


@dataclass(frozen=True)
class Edited:
    """The source with every edit that verified: the statements rewritten (what a cache keeps),
    and the statements left alone."""

    new_source: str
    skipped: tuple[Skipped, ...] = ()
    statements: tuple[StatementEdit, ...] = ()


def file_result(path: str, source: str, plan: Plan, edited: Edited) -> FileResult:
    """The result of a planned edit: the new text and the changes made, and an unsafe-rewrite
    error for each statement left alone."""
    left_out = {i for skipped in edited.skipped for i in skipped.edits}
    unsafe = tuple(_unsafe(path, plan, skipped) for skipped in edited.skipped)
    diagnostics = (*plan.diagnostics, *unsafe)
    if len(left_out) == len(plan.edits):
        return FileResult(path, source, diagnostics=diagnostics)
    changes = tuple(c for i, c in enumerate(plan.changes) if i not in left_out)
    return FileResult(path, source, edited.new_source, changes, diagnostics)


def _unsafe(path: str, plan: Plan, skipped: Skipped) -> Diagnostic:
    first = plan.edits[skipped.edits[0]]
    if skipped.layout:
        wanted = "; ".join(
            ", ".join(f"{k}={v!r}" for k, v in plan.edits[i].added.items()) for i in skipped.edits
        )
        message = (
            f"celery-codemod cannot edit this statement's layout ({skipped.problem}); it was "
            f"left alone: add {wanted} by hand"
        )
    else:
        message = f"the rewrite did not verify ({skipped.problem}); this statement was left alone"
    return Diagnostic(path, first.line, "unsafe-rewrite", Severity.ERROR, message)


def with_bytes(result: FileResult, data: bytes, encoding: str) -> FileResult:
    """The result with the file's bytes before and after the edit (`data` decodes to the
    result's source): the encoded insertions spliced into `data`. An edit that cannot be
    written that way is unsafe-rewrite and changes nothing."""
    if result.new_source is None:
        return result
    from codemods.splice import SpliceError
    from codemods.splice import splice as splice_bytes

    try:
        new_bytes = splice_bytes(data, encoding, result.source, result.new_source)
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


def _localize(edits: Iterable[Edit], scanned: ScannedCalls, first: int) -> list[Edit]:
    """The edits with ordinals counted from line `first` on."""
    return [
        replace(e, ordinal=e.ordinal - bisect.bisect_left(scanned.candidate_lines[e.space], first))
        for e in edits
    ]


def joined_spans(
    spans: list[tuple[int, int, list[ast.stmt]]], lines: list[str]
) -> list[tuple[int, int, list[ast.stmt]]]:
    """The spans with a backslash continuation after a statement (`x(); \\`) joined to what
    it continues: the next statement, or the line after it."""
    joined: list[tuple[int, int, list[ast.stmt]]] = []
    for span in spans:
        if joined and _continues(lines, joined[-1][1]) and span[0] == joined[-1][1] + 1:
            previous = joined[-1]
            joined[-1] = (previous[0], span[1], [*previous[2], *span[2]])
        else:
            joined.append(span)
    extended = []
    for first, last, statements in joined:
        while _continues(lines, last) and last < len(lines):
            last += 1
        extended.append((first, last, statements))
    return extended


def _continues(lines: list[str], number: int) -> bool:
    return lines[number - 1].rstrip("\r\n").endswith("\\")


def edit_planned(source: str, tree: ast.Module, plan: Plan, scanned: ScannedCalls) -> Edited:
    """Apply the edits with libcst, parsing only the top-level statements that hold them, and
    verify each edited statement; one that fails is left alone, the others are edited."""
    lines = LINE.findall(source)
    spans = joined_spans(statement_spans(tree), lines)
    starts = [span[0] for span in spans]
    by_span: dict[int, list[int]] = defaultdict(list)
    for position, edit in enumerate(plan.edits):
        line = scanned.candidate_lines[edit.space][edit.ordinal]
        by_span[bisect.bisect_right(starts, line) - 1].append(position)
    skipped = []
    done = []
    for span in sorted(by_span, reverse=True):
        first, last, statements = spans[span]
        counted = {
            space: bisect.bisect_left(found, first)
            for space, found in scanned.candidate_lines.items()
        }
        present = {
            space: bisect.bisect_right(found, last) - counted[space]
            for space, found in scanned.candidate_lines.items()
        }
        local = [
            replace(e, ordinal=e.ordinal - counted[e.space])
            for e in (plan.edits[i] for i in by_span[span])
        ]
        chunk = "".join(lines[first - 1 : last])
        try:
            new_chunk = edit_chunk(chunk, first, statements, local, scanned.callees, present)
        except StatementSkipped as problem:
            skipped.append(Skipped(tuple(by_span[span]), str(problem), problem.layout))
            continue
        lines[first - 1 : last] = [new_chunk]
        done.append(StatementEdit(first, last, new_chunk))
    return Edited("".join(lines), tuple(reversed(skipped)), tuple(reversed(done)))


class StatementSkipped(Exception):
    """A statement's edit was not made; `layout`: libcst cannot edit it (else it did not verify)."""

    def __init__(self, problem: str, *, layout: bool = False) -> None:
        super().__init__(problem)
        self.layout = layout


def edit_chunk(
    chunk: str,
    first: int,
    statements: list[ast.stmt],
    edits: Sequence[Edit],
    callees: Collection[str],
    present: Mapping[str, int],
) -> str:
    """The edited, verified text of top-level statements (`chunk`, from line `first`).

    Large literals are masked first (masking.py), so libcst sees little more than the calls;
    the masked text is edited and verified, and the literals put back."""
    from codemods import cstedit  # libcst costs ~0.1 s to import; most runs edit nothing

    masked = mask(chunk, first, statements, callees)
    before = statements
    if masked.originals:
        try:
            masked_tree = ast.parse(masked.text)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            masked = Masked(chunk, ())
        else:
            counts = candidate_nodes(masked_tree, callees)
            if all(len(counts[space]) == present.get(space, 0) for space in counts):
                before = masked_tree.body
            else:  # a masked literal held a node the edit counts: edit it whole
                masked = Masked(chunk, ())
    lines = LINE.findall(masked.text)
    line_of_first = first if before is statements else 1
    keep = keep_closing_lines(before, edits, callees, lines, line_of_first)
    try:
        new_text = cstedit.edit_source(masked.text, edits, callees, keep)
    except cstedit.LayoutUnsupported as error:
        raise StatementSkipped(str(error), layout=True) from None
    except RecursionError:
        raise StatementSkipped("too deeply nested for libcst", layout=True) from None
    except Exception as error:  # libcst's parser errors, the plan not matching its tree
        first_line = (str(error).strip().splitlines() or [""])[0]
        if type(error).__name__ == "ParserSyntaxError":
            raise StatementSkipped(f"libcst cannot parse it: {first_line}", layout=True) from None
        raise StatementSkipped(f"{type(error).__name__}: {first_line}") from None
    problem = verify_statements(before, new_text, edits, callees)
    if problem is not None:
        raise StatementSkipped(problem)
    if not masked.originals:
        return new_text
    try:
        new_chunk = unmask(new_text, masked)
        ast.parse(new_chunk)
    except (Unmasked, SyntaxError, ValueError, RecursionError, MemoryError) as error:
        raise StatementSkipped(f"the literals could not be put back: {error}") from None
    return new_chunk


def keep_closing_lines(
    statements: list[ast.stmt],
    edits: Sequence[Edit],
    callees: Collection[str],
    lines: list[str],
    first: int,
) -> set[tuple[str, int]]:
    """The edits whose node is followed by an opt-out comment on its closing line, where
    another call or entry starts (the line its opt-out is read from): that line must not be
    split, or the comment would move off it and a second run would edit what it opts out."""
    nodes = candidate_nodes(ast.Module(body=statements, type_ignores=[]), callees)
    opt_out_lines = {node.lineno for node in nodes["call"]} | {
        key.lineno
        for node in nodes["dict"]
        if isinstance(node, ast.Dict)
        for key in node.keys
        if isinstance(key, ast.Constant) and key.value == "task"
    }
    keep = set()
    for edit in edits:
        node = nodes[edit.space][edit.ordinal] if edit.ordinal < len(nodes[edit.space]) else None
        if node is None or node.end_lineno is None or node.end_col_offset is None:
            continue
        if node.end_lineno not in opt_out_lines:
            continue
        line = lines[node.end_lineno - first].encode("utf-8", "surrogatepass")
        after = line[node.end_col_offset :].decode("utf-8", "replace")
        if parse_ignore(after) is not None:
            keep.add((edit.space, edit.ordinal))
    return keep


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
