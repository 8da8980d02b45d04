"""Pass 2: source text + task index -> new text, changes and diagnostics.

Reading (calls.py) and deciding (plan.py) work on the `ast` tree; only a file that needs an edit
is parsed with libcst (cstedit.py, imported on first use), and every edit is verified (verify.py)
before it is returned.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Sequence

from codemods.calls import CANDIDATE_CALLEES, scan_calls
from codemods.model import (
    PARITY_OPTIONS,
    CallSite,
    Diagnostic,
    FileResult,
    Severity,
    TaskIndex,
)
from codemods.plan import plan_calls
from codemods.verify import verify_rewrite


def rewrite_source(
    source: str,
    index: TaskIndex,
    *,
    path: str,
    options: Iterable[str] = PARITY_OPTIONS,
) -> FileResult:
    """Source text + index -> the new text, the changes and the diagnostics. Never raises."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError) as error:
        return FileResult(path, source, diagnostics=(parse_error(path, error),))
    sites = scan_calls(tree, source_lines(source))
    return apply_index(source, tree, sites, index, path=path, options=options)


def apply_index(
    source: str,
    tree: ast.Module,
    sites: Sequence[CallSite],
    index: TaskIndex,
    *,
    path: str,
    options: Iterable[str] = PARITY_OPTIONS,
) -> FileResult:
    """Plan the scanned call sites against the index, then edit and verify."""
    plan = plan_calls(sites, index, path=path, options=options)
    if not plan.edits:
        return FileResult(path, source, diagnostics=plan.diagnostics)
    from codemods import cstedit  # libcst costs ~0.1 s to import; most runs edit nothing

    try:
        new_source = cstedit.edit_source(source, plan.edits)
        problem = verify_rewrite(tree, new_source, plan.edits, CANDIDATE_CALLEES)
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
