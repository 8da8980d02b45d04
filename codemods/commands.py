"""What `fix` does with its options: run both passes, then print, write or make patches."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path

import click

from codemods.files import display_path, read_source, write_result
from codemods.indexfile import IndexFileError
from codemods.model import Diagnostic, FileResult, Severity
from codemods.report import (
    EXIT_USAGE,
    Report,
    diagnostic_line,
    dump_json,
    sort_diagnostics,
    summary_line,
)
from codemods.repos import RepositoryError, head_version, repository_roots, uncommitted
from codemods.run import Outcome, Settings, collect

# Makes the changes of another version of a file (its display path, its bytes) again.
RewriteVersion = Callable[[str, bytes], FileResult]
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
    verbose: bool = False


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
    settings = options.settings
    if not _shows_text(options):
        settings = replace(settings, edited_text=False)
    try:
        outcome = collect(settings, progress=_progress())
    except IndexFileError as error:
        click.echo(f"celery-codemod: error: {error}", err=True)
        return EXIT_USAGE
    rewrite = partial(_rewrite_version, outcome=outcome, settings=options.settings)
    report = write_out(outcome, outcome.report, options, rewrite)
    if report is None:
        return EXIT_USAGE
    _output(report, options)
    return exit_code(report, options)


def write_out(
    outcome: Outcome, report: Report, options: FixOptions, rewrite: RewriteVersion
) -> Report | None:
    """The run's report with the options' severities, its changes written (`--write`) and made
    into patches (`--patches`, a file with uncommitted changes made again from HEAD's version by
    `rewrite`); None when the run must stop with exit 2 (the reason is printed)."""
    report = replace(
        report, diagnostics=apply_severity(report.diagnostics, options.severity, options.strict)
    )
    if options.write:
        refusal = _dirty_refusal(report, options)
        if refusal is not None:
            for line in refusal:
                click.echo(line, err=True)
            return None
        report = _write(outcome, report, force=options.force_write)
    if options.patches_dir is not None:
        return write_patches(report, options, rewrite)
    return report


def exit_code(report: Report, options: FixOptions) -> int:
    # --patches exits as --write does: 1 when an error left a file out of the patches.
    return report.return_code(
        check=options.check, write=options.write or options.patches_dir is not None
    )


def _shows_text(options: FixOptions) -> bool:
    """Whether the run prints or writes the new text of files (else only which calls change)."""
    return (
        options.write
        or options.patches_dir is not None
        or options.show_diff
        or not options.check
        or options.output_format not in ("text", "json", "github")
    )


def _dirty_refusal(report: Report, options: FixOptions) -> list[str] | None:
    """The lines refusing to write over uncommitted work, or None to go on."""
    if options.allow_dirty or not report.changed:
        return None
    try:
        dirty = set(uncommitted([Path(r.path) for r in report.changed]))
    except RepositoryError as error:
        return [
            "celery-codemod: error: not writing: cannot tell which files have uncommitted "
            f"changes: {error}"
        ]
    refused = [r.path for r in report.changed if Path(r.path) in dirty]
    if not refused:
        return None
    return [
        "celery-codemod: error: not writing: these files have uncommitted changes "
        "(commit or stash them, or pass --allow-dirty):",
        *(f"  {path}" for path in refused),
    ]


def _committed_results(
    report: Report, rewrite: RewriteVersion
) -> tuple[list[FileResult], list[str], list[Diagnostic]]:
    """The changed files as the patches need them: a file with uncommitted changes is rewritten
    from HEAD's version (by `rewrite`), so that its patch applies to a clean checkout.

    Returns the results, the files made from HEAD, and the errors of files left out (not in
    HEAD, or HEAD's version does not rewrite). Raises RepositoryError when git cannot tell.
    """
    changed = report.changed
    dirty = set(uncommitted([Path(r.path) for r in changed]))
    if not dirty:
        return changed, [], []
    roots = repository_roots(dirty)
    results, from_head, problems = [], [], []
    for result in changed:
        path = Path(result.path)
        root = roots.get(path)
        if path not in dirty or root is None:
            results.append(result)
            continue
        data = head_version(path, root)
        if data is None:
            problems.append(
                Diagnostic(
                    result.path, 1, "read-error", Severity.ERROR,
                    "left out of the patches: HEAD does not have this file (commit it first)",
                )
            )  # fmt: skip
            continue
        committed = rewrite(result.path, data)
        errors = [d for d in committed.diagnostics if d.severity is Severity.ERROR]
        problems.extend(
            replace(d, message=f"HEAD's version, left out of the patches: {d.message}")
            for d in errors
        )
        if committed.changed and not errors:
            results.append(committed)
        from_head.append(result.path)
    return results, from_head, problems


def _rewrite_version(display: str, data: bytes, outcome: Outcome, settings: Settings) -> FileResult:
    """Pass 2 over another version of a file (its bytes), with the run's index and constants."""
    from codemods.rewrite import rewrite_source, with_bytes  # libcst: only when a file needs it

    source = read_source(Path(display), data)
    if isinstance(source, Diagnostic):
        return FileResult(display, "", diagnostics=(source,))
    result = rewrite_source(
        source.text,
        outcome.index,
        path=display,
        module=outcome.modules.get(display, ""),
        is_package=Path(display).name == "__init__.py",
        symbols=outcome.symbols,
        options=settings.options,
        app_classes=outcome.app_classes,
    )
    return with_bytes(result, source.data, source.encoding)  # the file's bytes, spliced


def write_patches(report: Report, options: FixOptions, rewrite: RewriteVersion) -> Report | None:
    """Write the patches of the changed files (those with uncommitted changes made again from
    HEAD's version by `rewrite`); None when they cannot be made (the error is printed)."""
    from codemods import gitpatch

    assert options.patches_dir is not None
    try:
        results, from_head, problems = _committed_results(report, rewrite)
        written = gitpatch.write_patches(
            results,
            options.patches_dir,
            split_depth=options.split_depth,
            split_by_codeowners=options.split_by_codeowners,
        )
    except (gitpatch.PatchError, RepositoryError) as error:
        click.echo(f"celery-codemod: error: not making patches: {error}", err=True)
        return None
    if from_head:
        click.echo(
            "celery-codemod: these files have uncommitted changes: their patches are made from "
            "HEAD's version, without those changes:",
            err=True,
        )
        for path in from_head:
            click.echo(f"  {path}", err=True)
    for patch_path, repository in written.patches:
        where = "" if repository is None else f" (apply it in {display_path(repository)})"
        click.echo(f"wrote {patch_path}{where}", err=True)
    extra = apply_severity([*problems, *written.diagnostics], options.severity, options.strict)
    if not extra:
        return report
    return replace(report, diagnostics=sort_diagnostics([*report.diagnostics, *extra]))


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


def roots_line(report: Report) -> str:
    """Where module names start, and why: `-v` shows it."""
    roots = ", ".join(f"{root} ({why})" for root, why in report.source_roots) or "none"
    return f"celery-codemod: source roots: {roots}"


def _output(report: Report, options: FixOptions) -> None:
    if options.verbose:
        click.echo(roots_line(report), err=True)
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


# The escapes click.style uses: bold, green, red, cyan, reset.
BOLD, GREEN, RED, CYAN, RESET = b"\x1b[1m", b"\x1b[32m", b"\x1b[31m", b"\x1b[36m", b"\x1b[0m"


def _styled_diff(diff: bytes, color: bool) -> bytes:
    """The diff with colors on a terminal; its bytes are the file's, in whatever encoding."""
    if not color:
        return diff
    lines = []
    for line in diff.splitlines(keepends=True):
        body = line.rstrip(b"\r\n")
        end = line[len(body) :]
        if line.startswith((b"+++", b"---")):
            style = BOLD
        elif line.startswith(b"+"):
            style = GREEN
        elif line.startswith(b"-"):
            style = RED
        elif line.startswith(b"@@"):
            style = CYAN
        else:
            lines.append(line)
            continue
        lines.append(style + body + RESET + end)
    return b"".join(lines)


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


def diff_paths(paths: Sequence[str]) -> dict[str, str]:
    """The path each file's diff names, so that `git apply` takes it: relative to the current
    folder; a file outside it (`../other/x.py`, which git refuses) relative to the root of its
    repository, or outside any repository its absolute path without the leading `/`."""
    named = {path: path for path in paths}
    outside = [p for p in paths if p == ".." or p.startswith("../") or os.path.isabs(p)]
    if not outside:
        return named
    from codemods.repos import RepositoryError, in_repository, repository_roots

    try:
        roots = repository_roots([Path(p) for p in outside])
    except RepositoryError:
        roots = {}
    for path in outside:
        root = roots.get(Path(path))
        absolute = Path(os.path.abspath(path))
        named[path] = in_repository(absolute, root) if root else absolute.as_posix().lstrip("/")
    return named


OUTSIDE_NOTE = (
    "celery-codemod: the diff names files outside the current folder relative to their "
    "repository's root (apply it there), or by their absolute path outside a repository "
    "(apply it with `git -C / apply`)"
)


def print_text(report: Report, *, check: bool, write: bool, show_diff: bool) -> None:
    color = _color(sys.stdout)
    named = diff_paths([r.path for r in report.changed]) if show_diff else {}
    for result in report.changed:
        if show_diff:
            from codemods.diff import file_diff

            diff = file_diff(result, named[result.path])
            click.echo(_styled_diff(diff, color), nl=False, color=color)
        if check:
            click.echo(f"would rewrite {result.path}", err=True)
        elif write:
            click.echo(f"rewrote {result.path}", err=True)
    if any(named[path] != path for path in named):
        click.echo(OUTSIDE_NOTE, err=True)
    # The run's own warning (how much it could check) last, beside the summary.
    print_diagnostics(sorted(report.diagnostics, key=lambda d: d.code == "incomplete-index"))
    summary = summary_line(report, check=check, write=write)
    err_color = _color(sys.stderr)
    click.echo(click.style(summary, bold=True) if err_color else summary, err=True, color=err_color)
