"""The work done once per file, in any process: read, prefilter, parse, read declarations and calls.

A file with no declaration hint and no call-site hint (a byte search) is never parsed. What a scan
finds depends on the file's content and the scan inputs alone (its module name, whether it is a
package `__init__`, the size limit), never on other files, so it can be cached by those and
computed in worker processes.
"""

from __future__ import annotations

import ast
from pathlib import Path

from codemods.calls import scan_calls
from codemods.files import content_digest, display_path, read_source
from codemods.index import index_tree
from codemods.model import Diagnostic, FileScan, Severity
from codemods.report import internal_error
from codemods.resultflow import ResultFlow
from codemods.rewrite import parse_error, source_lines

# Bytes a file must contain to be worth parsing. Pass 1 needs the declarations and the modules
# that make or re-export the app (an `__init__` that imports anything may re-export it).
# `task` covers the decorators (also project wrappers such as `@fast_task`) and registrations,
# `Task` class-based tasks and task_cls, `elery` the apps and their settings.
DECLARATION_HINTS = (b"task", b"Task", b"elery")
CALL_HINTS = (b"send_task", b"signature", b"subtask", b"schedule")
# What starts a task by import or reads a result by id (`results`). Canvases (`chain`, `group`,
# `chord`) need signatures (`.s(`, `.si(`), and files that only mention a task object mention a
# task; `group` and `chain` alone are common words, so they are no hint.
RESULT_HINTS = (b"delay", b"apply_async", b".s(", b".si(", b"AsyncResult", b"GroupResult",
                b"result_backend", b"RESULT_BACKEND")  # fmt: skip


def has_hint(data: bytes, hints: tuple[bytes, ...]) -> bool:
    return any(hint in data for hint in hints)


def too_large(path: Path, size: int, limit: int) -> Diagnostic:
    return Diagnostic(
        display_path(path),
        1,
        "file-too-large",
        Severity.WARNING,
        f"skipped: {size:,} bytes is over the limit of {limit:,} (--max-file-size)",
    )


def scan_file(
    path: Path,
    *,
    module: str,
    is_package: bool,
    max_size: int,
    force: bool = False,
    results: bool = False,
) -> FileScan:
    """Read and, when it holds a hint (or `force`), parse one file as `module`. Never raises.
    With `results`, also what it does with task results (for `results`; `fix` does not pay for
    it)."""
    display = display_path(path)
    try:
        size = path.stat().st_size
        if size > max_size:
            return FileScan(display, problem=too_large(path, size, max_size))
        data = path.read_bytes()
        content = content_digest(data)
    except OSError as error:
        reason = error.strerror or str(error)
        return FileScan(
            display,
            problem=Diagnostic(display, 1, "read-error", Severity.ERROR, f"cannot read: {reason}"),
        )
    wants_calls = has_hint(data, CALL_HINTS)
    if not (
        force
        or wants_calls
        or has_hint(data, DECLARATION_HINTS)
        or has_hint(data, RESULT_HINTS)
        or (path.name == "__init__.py" and b"import" in data)
    ):
        return FileScan(display, digest=content)
    source = read_source(path, data)
    if isinstance(source, Diagnostic):
        return FileScan(display, problem=source, digest=content)
    try:
        tree = ast.parse(source.text)
    except (SyntaxError, ValueError, RecursionError, MemoryError) as error:
        return FileScan(display, problem=parse_error(display, error), digest=content)
    try:
        facts = index_tree(tree, path=display, module=module, is_package=is_package)
        flow = ResultFlow(tree, module, is_package) if results else None
        calls = None
        if wants_calls:
            lines = source_lines(source.text)
            calls = scan_calls(tree, lines, module=module, is_package=is_package, flow=flow)
        found = flow.scan(tree) if flow is not None else None
    except RecursionError:
        too_deep = Diagnostic(
            display, 1, "parse-error", Severity.ERROR, "too deeply nested to analyse"
        )
        return FileScan(display, problem=too_deep, digest=content)
    except Exception as error:
        return FileScan(display, problem=internal_error(display, error), digest=content)
    return FileScan(display, facts, calls, digest=content, results=found)
