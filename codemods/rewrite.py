"""Pass 2: source text + task index -> new text, changes and diagnostics.

Reading (calls.py) and deciding (plan.py) work on the `ast` tree; only a file that needs an edit
is parsed with libcst (cstedit.py, imported on first use), and every edit is verified (verify.py)
before it is returned.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable

from codemods.calls import ScannedCalls, scan_calls
from codemods.model import (
    PARITY_OPTIONS,
    Diagnostic,
    FileResult,
    Severity,
    TaskIndex,
)
from codemods.plan import plan_calls
from codemods.symbols import SymbolTable, with_module
from codemods.verify import verify_rewrite


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
    table = with_module(symbols or SymbolTable(), tree, module, is_package)
    return apply_index(source, tree, scanned, index, path=path, symbols=table, options=options)


def apply_index(
    source: str,
    tree: ast.Module,
    scanned: ScannedCalls,
    index: TaskIndex,
    *,
    path: str,
    symbols: SymbolTable,
    options: Iterable[str] = PARITY_OPTIONS,
) -> FileResult:
    """Plan the scanned call sites against the index, then edit and verify."""
    plan = plan_calls(scanned.sites, index, path=path, options=options, symbols=symbols)
    if not plan.edits:
        return FileResult(path, source, diagnostics=plan.diagnostics)
    from codemods import cstedit  # libcst costs ~0.1 s to import; most runs edit nothing

    try:
        new_source = cstedit.edit_source(source, plan.edits, scanned.callees)
        problem = verify_rewrite(tree, new_source, plan.edits, scanned.callees)
    except Exception as error:
        first_line = (str(error).strip().splitlines() or [""])[0]
        problem = f"{type(error).__name__}: {first_line}"
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


def parse_error(path: str, error: Exception) -> Diagnostic:
    line = getattr(error, "lineno", None) or 1
    message = getattr(error, "msg", None) or str(error)
    return Diagnostic(path, line, "parse-error", Severity.ERROR, f"cannot parse: {message}")


def source_lines(source: str) -> list[str]:
    """Lines as Python counts them (only \\r\\n, \\r and \\n end a line)."""
    return source.replace("\r\n", "\n").replace("\r", "\n").split("\n")
