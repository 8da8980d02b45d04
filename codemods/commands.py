"""What `fix` does with its options: run both passes, then print, write or make patches."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import click

from codemods.diff import unified_diff
from codemods.discovery import uncommitted_changes
from codemods.files import write_result
from codemods.indexfile import IndexFileError
from codemods.model import Diagnostic, Severity
from codemods.report import (
    EXIT_USAGE,
    Report,
    diagnostic_line,
    dump_json,
    sort_diagnostics,
    summary_line,
)
from codemods.run import Outcome, Settings, collect

SEVERITY_COLORS = {Severity.ERROR: "red", Severity.WARNING: "yellow", Severity.INFO: "blue"}
# Show a progress bar (on a terminal) when a run reads at least this many files.
PROGRESS_THRESHOLD = 500


@dataclass(frozen=True)
class FixOptions:
    settings: Settings
    check: bool = False
    write: bool = False
    patches_dir: Path | None = None
    split_depth: int = 2
    split_by_codeowners: bool = False
    allow_dirty: bool = False
    # With --write: also replace read-only files, files with several hard links, and files
    # whose owner cannot be kept.
    force_write: bool = False
    output_format: str = "text"
    show_diff: bool = False
    severity: Mapping[str, str] = field(default_factory=dict)
    strict: bool = False


def _color(stream: object) -> bool:
    return bool(getattr(stream, "isatty", lambda: False)()) and "NO_COLOR" not in os.environ


def apply_severity(
    diagnostics: Sequence[Diagnostic], overrides: Mapping[str, str], strict: bool
) -> list[Diagnostic]:
    """Severity overrides by code ("off" drops the code); --strict makes warnings errors."""
    adjusted = []
    for diagnostic in diagnostics:
        wanted = overrides.get(diagnostic.code)
        if wanted == "off":
            continue
        if wanted is not None:
            diagnostic = replace(diagnostic, severity=Severity(wanted))
        elif strict and diagnostic.severity is Severity.WARNING:
            diagnostic = replace(diagnostic, severity=Severity.ERROR)
        adjusted.append(diagnostic)
    return adjusted


def _progress() -> Callable[[int], Callable[[], None]] | None:
    """A factory of progress ticks for runs over many files, when stderr is a terminal."""
    if not sys.stderr.isatty():
        return None

    def start(total: int) -> Callable[[], None]:
        if total < PROGRESS_THRESHOLD:
            return lambda: None
        bar = click.progressbar(length=total, label="celery-codemod", file=sys.stderr)
        bar.__enter__()
        done = [0]

        def tick() -> None:
            done[0] += 1
            bar.update(1)
            if done[0] >= total:
                bar.__exit__(None, None, None)

        return tick

    return start


def fix(options: FixOptions) -> int:
    """Run `fix`; return the exit code."""
    try:
        outcome = collect(options.settings, progress=_progress())
    except IndexFileError as error:
        click.echo(f"celery-codemod: error: {error}", err=True)
        return EXIT_USAGE
    report = replace(
        outcome.report,
        diagnostics=apply_severity(outcome.report.diagnostics, options.severity, options.strict),
    )
    if options.write:
        refused = [] if options.allow_dirty else _dirty(report)
        if refused:
            click.echo(
                "celery-codemod: error: not writing: these files have uncommitted changes "
                "(commit or stash them, or pass --allow-dirty):",
                err=True,
            )
            for path in refused:
                click.echo(f"  {path}", err=True)
            return EXIT_USAGE
        report = _write(outcome, report, force=options.force_write)
    if options.patches_dir is not None:
        from codemods import gitpatch

        try:
            written = gitpatch.write_patches(
                report,
                options.patches_dir,
                split_depth=options.split_depth,
                by_codeowners=options.split_by_codeowners,
            )
        except gitpatch.PatchError as error:
            click.echo(f"celery-codemod: error: {error}", err=True)
            return EXIT_USAGE
        for patch_path in written:
            click.echo(f"wrote {patch_path}", err=True)
    _output(report, options)
    return report.return_code(check=options.check, write=options.write)


def _dirty(report: Report) -> list[str]:
    changed = [Path(r.path) for r in report.changed]
    dirty = uncommitted_changes(changed) if changed else []
    return [r.path for r in report.changed if Path(r.path) in set(dirty or [])]


def _write(outcome: Outcome, report: Report, *, force: bool = False) -> Report:
    """Write every verified change; a file that cannot be written becomes a diagnostic."""
    failures: list[Diagnostic] = []
    for result in report.changed:
        failure = write_result(result, outcome.sources[result.path], force=force)
        if failure is not None:
            failures.append(failure)
    if not failures:
        return report
    failed = {f.path for f in failures}
    return replace(
        report,
        results=[r for r in report.results if r.path not in failed],
        diagnostics=sort_diagnostics([*report.diagnostics, *failures]),
    )


def _output(report: Report, options: FixOptions) -> None:
    if options.output_format == "json":
        click.echo(dump_json(report), nl=False)
        return
    if options.output_format in ("github", "sarif"):
        from codemods import __version__, formats

        if options.output_format == "github":
            click.echo(formats.dump_github(report), nl=False)
        else:
            click.echo(formats.dump_sarif(report, tool_version=__version__), nl=False)
        click.echo(summary_line(report, check=options.check, write=options.write), err=True)
        return
    show_diff = options.show_diff or not (options.check or options.write or options.patches_dir)
    print_text(report, check=options.check, write=options.write, show_diff=show_diff)


def _styled_diff(diff: str, color: bool) -> str:
    if not color:
        return diff
    lines = []
    for line in diff.splitlines(keepends=True):
        if line.startswith(("+++", "---")):
            lines.append(click.style(line, bold=True))
        elif line.startswith("+"):
            lines.append(click.style(line, fg="green"))
        elif line.startswith("-"):
            lines.append(click.style(line, fg="red"))
        elif line.startswith("@@"):
            lines.append(click.style(line, fg="cyan"))
        else:
            lines.append(line)
    return "".join(lines)


def print_diagnostics(diagnostics: Sequence[Diagnostic]) -> None:
    color = _color(sys.stderr)
    for diagnostic in diagnostics:
        line = diagnostic_line(diagnostic)
        if color:
            word = diagnostic.severity.value
            line = line.replace(
                f" {word} ",
                " " + click.style(word, fg=SEVERITY_COLORS[diagnostic.severity]) + " ",
                1,
            )
        click.echo(line, err=True, color=color)


def print_text(report: Report, *, check: bool, write: bool, show_diff: bool) -> None:
    color = _color(sys.stdout)
    for result in report.changed:
        if show_diff:
            assert result.new_source is not None
            diff = unified_diff(result.source, result.new_source, result.path)
            click.echo(_styled_diff(diff, color), nl=False, color=color)
        if check:
            click.echo(f"would rewrite {result.path}", err=True)
        elif write:
            click.echo(f"rewrote {result.path}", err=True)
    print_diagnostics(report.diagnostics)
    summary = summary_line(report, check=check, write=write)
    err_color = _color(sys.stderr)
    click.echo(click.style(summary, bold=True) if err_color else summary, err=True, color=err_color)
