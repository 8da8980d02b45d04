"""`results` output: the text report (one line per task and per app), `--diff`, JSON, GitHub
annotations and SARIF (with the typo fixes offered, never applied)."""

from __future__ import annotations

import ast
import sys
from pathlib import Path
from typing import Any

import click

from codemods.commands import FixOptions, _color, _styled_diff, print_diagnostics
from codemods.diff import file_diff
from codemods.files import read_source
from codemods.formats import ChangeRule, artifact_uri, github_annotations, sarif_document
from codemods.jsontext import dumps
from codemods.model import Diagnostic
from codemods.report import (
    Report,
    changed_text,
    changes_json,
    diagnostics_json,
    plural,
    severity_counts,
)
from codemods.resultscmd import ResultsRun, Typo, counts, first_evidence
from codemods.verdicts import AppVerdict, Evidence, TaskVerdict

UNREAD_RULE = ChangeRule(
    "unread-result",
    lambda change: (
        f"nobody reads the result of '{change.task}': declare ignore_result=True "
        "(celery-codemod results --write)"
    ),
    lambda result: (
        f"Declare ignore_result=True on {len(result.changes)} task"
        f"{'' if len(result.changes) == 1 else 's'} in {result.path}"
    ),
)


def output(run: ResultsRun, options: FixOptions) -> None:
    report = run.report
    if options.output_format == "json":
        click.echo(dumps(json_document(run)) + "\n", nl=False)
        return
    if options.output_format == "github":
        click.echo(dump_github_results(report), nl=False)
    elif options.output_format == "sarif":
        from codemods import __version__

        document = sarif_document(report, tool_version=__version__, rule=UNREAD_RULE)
        _offer_typo_fixes(document, run.typos)
        click.echo(dumps(document) + "\n", nl=False)
    else:
        _text(run, options)
        return
    click.echo(summary_line(run, check=options.check, write=options.write), err=True)


def dump_github_results(report: Report) -> str:
    return github_annotations(report, UNREAD_RULE)


def _text(run: ResultsRun, options: FixOptions) -> None:
    """The report on stdout; with --diff the diffs go there (git apply takes them) and the
    report to stderr."""
    report = run.report
    diff = options.show_diff
    color = _color(sys.stdout)
    for line in report_lines(run):
        click.echo(line, err=diff)
    for result in report.changed:
        if diff:
            click.echo(_styled_diff(file_diff(result, result.path), color), nl=False, color=color)
        if options.check:
            click.echo(f"would rewrite {result.path}", err=True)
        elif options.write:
            click.echo(f"rewrote {result.path}", err=True)
    print_diagnostics(report.diagnostics)
    summary = summary_line(run, check=options.check, write=options.write)
    err_color = _color(sys.stderr)
    click.echo(click.style(summary, bold=True) if err_color else summary, err=True, color=err_color)


def task_line(verdict: TaskVerdict) -> str:
    task = verdict.task
    evidence = first_evidence(verdict)
    tail = f"; {evidence}" if evidence else ""
    calls = plural(verdict.calls, "call")
    return f"{task.path}:{task.line}: {task.name}: {verdict.verdict}, {calls}{tail}"


def app_line(app: AppVerdict) -> str:
    where = ", ".join(f"{p}:{line} {setting}" for p, line, setting in app.backends)
    if app.backend_needed:
        first = app.evidence[0] if app.evidence else None
        because = f" ({first.path}:{first.line} {first.kind})" if first is not None else ""
        return f"{app.path}:{app.line}: app {app.app}: needs a result backend{because}"
    configured = f" (configured at {where})" if where else " (none is configured in code)"
    return (
        f"{app.path}:{app.line}: app {app.app}: no result is read through it: it can run "
        f"without a result backend{configured}"
    )


def report_lines(run: ResultsRun) -> list[str]:
    return [
        *(task_line(v) for v in run.verdicts.tasks),
        *(app_line(a) for a in run.verdicts.apps),
    ]


def summary_line(run: ResultsRun, *, check: bool, write: bool) -> str:
    found = counts(run.verdicts.tasks)
    report = run.report
    verdicts = ", ".join(f"{found[v]} {v}" for v in found)
    done = changed_text(report, "declaration", check=check, write=write)
    return (
        f"celery-codemod: {plural(len(run.verdicts.tasks), 'task')}: {verdicts}; {done} "
        f"({plural(report.files_scanned, 'file')} scanned); {severity_counts(report)}"
    )


def _evidence_json(e: Evidence) -> dict[str, Any]:
    found: dict[str, Any] = {
        "path": e.path,
        "line": e.line,
        "kind": e.kind,
        "in_tests": e.in_tests,
        "eager": e.eager,
    }
    if e.detail:
        found["detail"] = e.detail
    return found


def json_document(run: ResultsRun) -> dict[str, Any]:
    report = run.report
    found = counts(run.verdicts.tasks)
    return {
        "version": 1,
        "tasks": [
            {
                "name": v.task.name,
                "path": v.task.path,
                "line": v.task.line,
                "verdict": v.verdict,
                "calls": v.calls,
                "evidence": [_evidence_json(e) for e in v.evidence],
            }
            for v in run.verdicts.tasks
        ],
        "apps": [
            {
                "app": a.app,
                "path": a.path,
                "line": a.line,
                "backend_needed": a.backend_needed,
                "evidence": [_evidence_json(e) for e in a.evidence],
                "backend_settings": [
                    {"path": p, "line": line, "setting": setting} for p, line, setting in a.backends
                ],
            }
            for a in run.verdicts.apps
        ],
        "changes": changes_json(report),
        "diagnostics": diagnostics_json(report),
        "summary": {
            "tasks": len(run.verdicts.tasks),
            **found,
            "files_scanned": report.files_scanned,
            "files_changed": len(report.changed),
            "declarations_changed": report.calls_changed,
        },
    }


def _offer_typo_fixes(document: dict[str, Any], typos: list[Typo]) -> None:
    """Each `option-typo` result gets the rename as a SARIF fix, offered, never applied."""
    by_place: dict[tuple[str, int], list[Typo]] = {}
    for typo in typos:
        by_place.setdefault((typo.path, typo.line), []).append(typo)
    spans: dict[str, dict[tuple[int, str], tuple[int, int, int]]] = {}
    for result in document["runs"][0]["results"]:
        if result["ruleId"] != "option-typo":
            continue
        location = result["locations"][0]["physicalLocation"]
        line = location["region"]["startLine"]
        path = next(
            (t.path for t in typos if artifact_uri(t.path) == location["artifactLocation"]["uri"]),
            None,
        )
        if path is None:
            continue
        if path not in spans:
            spans[path] = _keyword_spans(path)
        for typo in by_place.get((path, line), []):
            span = spans[path].get((typo.line, typo.keyword))
            if span is None or typo.keyword not in result["message"]["text"]:
                continue
            start_line, column, end = span
            result["fixes"] = [
                {
                    "description": {
                        "text": f"Rename {typo.keyword} to {typo.suggestion} (a behaviour change)"
                    },
                    "artifactChanges": [
                        {
                            "artifactLocation": location["artifactLocation"],
                            "replacements": [
                                {
                                    "deletedRegion": {
                                        "startLine": start_line,
                                        "startColumn": column,
                                        "endLine": start_line,
                                        "endColumn": end,
                                    },
                                    "insertedContent": {"text": typo.suggestion},
                                }
                            ],
                        }
                    ],
                }
            ]


def _keyword_spans(path: str) -> dict[tuple[int, str], tuple[int, int, int]]:
    """(decorator line, keyword) -> (line, first column, column after it), 1-based code points."""
    source = read_source(Path(path))
    if isinstance(source, Diagnostic):
        return {}
    try:
        tree = ast.parse(source.text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return {}
    lines = source.text.splitlines()
    spans: dict[tuple[int, str], tuple[int, int, int]] = {}
    for node in ast.walk(tree):
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        for decorator in node.decorator_list:
            if not isinstance(decorator, ast.Call):
                continue
            for keyword in decorator.keywords:
                if keyword.arg is None:
                    continue
                text = lines[keyword.lineno - 1] if keyword.lineno <= len(lines) else ""
                column = len(text.encode("utf-8")[: keyword.col_offset].decode("utf-8", "replace"))
                spans[(decorator.lineno, keyword.arg)] = (
                    keyword.lineno,
                    column + 1,
                    column + 1 + len(keyword.arg),
                )
    return spans
