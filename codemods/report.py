"""Turning results into what users read: diagnostic lines, the summary, JSON, exit codes."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from codemods.model import Diagnostic, FileResult, Severity

EXIT_OK, EXIT_FINDINGS, EXIT_USAGE = 0, 1, 2


@dataclass(frozen=True)
class Report:
    results: Sequence[FileResult]
    diagnostics: Sequence[Diagnostic]  # every diagnostic, sorted: the files' and the index's
    files_scanned: int
    tasks_indexed: int
    # (folder, why) for each source root the files that declare or call tasks are named from.
    source_roots: tuple[tuple[str, str], ...] = ()

    @property
    def changed(self) -> list[FileResult]:
        return [r for r in self.results if r.changed]

    @property
    def calls_changed(self) -> int:
        return sum(len(r.changes) for r in self.changed)

    @property
    def has_errors(self) -> bool:
        return any(d.severity is Severity.ERROR for d in self.diagnostics)

    def return_code(self, *, check: bool, write: bool) -> int:
        if (check or write) and self.has_errors:
            return EXIT_FINDINGS
        if check and self.changed:
            return EXIT_FINDINGS
        return EXIT_OK


def sort_diagnostics(diagnostics: Iterable[Diagnostic]) -> list[Diagnostic]:
    return sorted(set(diagnostics), key=lambda d: (d.path, d.line, d.code, d.message))


def diagnostic_line(d: Diagnostic) -> str:
    return f"{d.path}:{d.line}: {d.severity.value} {d.code}: {d.message}"


def plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 or word == 'info' else 's'}"


def summary_line(report: Report, *, check: bool, write: bool) -> str:
    return (
        f"celery-codemod: {changed_text(report, 'call', check=check, write=write)} "
        f"({plural(report.files_scanned, 'file')} scanned, "
        f"{plural(report.tasks_indexed, 'task')} indexed); {severity_counts(report)}"
    )


def changed_text(report: Report, unit: str, *, check: bool, write: bool) -> str:
    """What changes (`unit`s: calls, declarations), in how many files, as the mode says."""
    changes = plural(report.calls_changed, unit)
    files = plural(len(report.changed), "file")
    if write:
        return f"changed {changes} in {files}"
    if check:
        return f"{changes} in {files} would change"
    return f"{changes} in {files} to change"


def severity_counts(report: Report) -> str:
    counts = Counter(d.severity for d in report.diagnostics)
    return ", ".join(plural(counts[s], s.value) for s in Severity)


def changes_json(report: Report) -> list[dict[str, Any]]:
    return [
        {"path": c.path, "line": c.line, "task": c.task, "added": dict(c.added)}
        for r in report.changed
        for c in r.changes
    ]


def diagnostics_json(report: Report) -> list[dict[str, Any]]:
    return [
        {
            "path": d.path,
            "line": d.line,
            "code": d.code,
            "severity": d.severity.value,
            "message": d.message,
        }
        for d in report.diagnostics
    ]


def json_document(report: Report) -> dict[str, Any]:
    return {
        "version": 1,
        "changes": changes_json(report),
        "diagnostics": diagnostics_json(report),
        "summary": {
            "files_scanned": report.files_scanned,
            "files_changed": len(report.changed),
            "calls_changed": report.calls_changed,
            "tasks_indexed": report.tasks_indexed,
            "source_roots": [root for root, _ in report.source_roots],
        },
    }


def dump_json(report: Report) -> str:
    return json.dumps(json_document(report), indent=2) + "\n"


def internal_error(path: str, error: Exception) -> Diagnostic:
    return Diagnostic(
        path,
        1,
        "internal-error",
        Severity.ERROR,
        f"celery-codemod failed on this file ({type(error).__name__}: {error}); "
        "it was left alone. Please report this.",
    )
