"""Command line: parse options, hand off to run.py, print, exit with DESIGN.md's codes."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Sequence
from pathlib import Path

import click

from codemods import __version__
from codemods.diff import unified_diff
from codemods.indexfile import IndexFileError, dump_index
from codemods.linking import FROM_CONFIG
from codemods.model import PARITY_OPTIONS, Diagnostic, OptionValue
from codemods.report import (
    EXIT_FINDINGS,
    EXIT_USAGE,
    Report,
    diagnostic_line,
    dump_json,
    sort_diagnostics,
    summary_line,
)
from codemods.run import Outcome, Settings, collect, write_result

OPTION_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

_paths = click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
_source_root = click.option(
    "--source-root",
    "source_roots",
    multiple=True,
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Folder that module names are relative to (default: found from __init__.py files).",
)
_exclude = click.option(
    "--exclude", multiple=True, metavar="GLOB", help="Skip files matching GLOB (repeatable)."
)


def _parse_options(value: str | None) -> tuple[str, ...]:
    if value is None:
        return PARITY_OPTIONS
    names = tuple(n.strip() for n in value.split(",") if n.strip())
    bad = [n for n in names if not OPTION_NAME.match(n)]
    if not names or bad:
        raise click.BadParameter(f"not a list of option names: {value!r}", param_hint="--options")
    return names


def _parse_worker_settings(values: tuple[str, ...]) -> tuple[tuple[str, OptionValue], ...]:
    """`task_ignore_result=true` -> (("ignore_result", True),): the task option it defaults."""
    parsed = []
    for item in values:
        name, sep, raw = item.partition("=")
        option = FROM_CONFIG.get(name.strip())
        if not sep or option is None:
            known = ", ".join(sorted(FROM_CONFIG))
            raise click.BadParameter(
                f"{item!r}: expected NAME=VALUE with NAME one of {known}",
                param_hint="--worker-setting",
            )
        try:
            value = json.loads(raw)
        except json.JSONDecodeError:
            value = raw
        if not isinstance(value, str | int | float | bool) and value is not None:
            raise click.BadParameter(
                f"{item!r}: the value must be a scalar", param_hint="--worker-setting"
            )
        parsed.append((option, value))
    return tuple(parsed)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="celery-codemod")
def main() -> None:
    """Copy Celery task declarations' options onto send_task call sites.

    Pass 1 indexes the tasks the workers declare; pass 2 adds to every send_task call what the
    declaration sets and the call lacks (ignore_result, serializer, queue, ...), and reports calls
    to unknown tasks and arguments that do not fit.
    """


@main.command("index")
@_paths
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Write here.")
@click.option(
    "--app",
    "app_spec",
    metavar="MODULE:APP",
    help="Import this Celery app and export its live registry instead of reading the source.",
)
@click.option(
    "--compare",
    is_flag=True,
    help="With --app: print where the static index of PATHS and the live registry differ "
    "(exit 1 if they do).",
)
@_source_root
@_exclude
@click.pass_context
def index_command(
    ctx: click.Context,
    paths: tuple[Path, ...],
    output: Path | None,
    app_spec: str | None,
    compare: bool,
    source_roots: tuple[Path, ...],
    exclude: tuple[str, ...],
) -> None:
    """Index task declarations under PATHS (default: .) and print the JSON index."""
    if compare and not app_spec:
        raise click.UsageError("--compare needs --app")
    if app_spec:
        from codemods import live

        try:
            registry = live.live_index(app_spec, source_roots)
        except live.LiveAppError as error:
            click.echo(f"celery-codemod: error: {error}", err=True)
            ctx.exit(EXIT_USAGE)
        if compare:
            settings = Settings(
                paths=(), workers=paths or (Path("."),), source_roots=source_roots, exclude=exclude
            )
            differences = live.compare(collect(settings).index, registry, PARITY_OPTIONS)
            for line in differences:
                click.echo(line)
            click.echo(
                f"celery-codemod: {len(differences)} differences between the static index and "
                f"the live registry of {app_spec}",
                err=True,
            )
            ctx.exit(EXIT_FINDINGS if differences else 0)
        _emit_index(dump_index(registry), output, len(registry))
        return
    settings = Settings(
        paths=(), workers=paths or (Path("."),), source_roots=source_roots, exclude=exclude
    )
    outcome = collect(settings)
    _print_diagnostics(outcome.report.diagnostics)
    _emit_index(dump_index(outcome.index), output, len(outcome.index))


def _emit_index(text: str, output: Path | None, count: int) -> None:
    if output is None:
        click.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
        click.echo(f"celery-codemod: {count} tasks written to {output}", err=True)


@main.command("fix")
@_paths
@click.option(
    "--workers",
    multiple=True,
    type=click.Path(exists=True, path_type=Path),
    help="Tree holding task declarations (repeatable; default: PATHS).",
)
@click.option(
    "--index",
    "index_files",
    multiple=True,
    type=click.Path(path_type=Path),
    help="Task index JSON written by `celery-codemod index` (repeatable).",
)
@click.option(
    "--check", is_flag=True, help="Report only; exit 1 if a call would change or on errors."
)
@click.option("--write", is_flag=True, help="Rewrite the files in place.")
@click.option("--diff", "show_diff", is_flag=True, help="Also print the diff with --check/--write.")
@click.option(
    "--options",
    "options_list",
    metavar="LIST",
    help=f"Comma-separated options to propagate (default: {','.join(PARITY_OPTIONS)}).",
)
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="Output format.",
)
@click.option(
    "--worker-setting",
    "worker_settings",
    multiple=True,
    metavar="NAME=VALUE",
    help="A worker setting the code does not show, e.g. task_ignore_result=true (repeatable).",
)
@_source_root
@_exclude
@click.pass_context
def fix_command(
    ctx: click.Context,
    paths: tuple[Path, ...],
    workers: tuple[Path, ...],
    index_files: tuple[Path, ...],
    check: bool,
    write: bool,
    show_diff: bool,
    options_list: str | None,
    output_format: str,
    worker_settings: tuple[str, ...],
    source_roots: tuple[Path, ...],
    exclude: tuple[str, ...],
) -> None:
    """Add the options each send_task call lacks, under PATHS (default: .).

    Without --check or --write, print the diff (git apply takes it) and exit 0.
    """
    if check and write:
        raise click.UsageError("--check and --write cannot be used together")
    settings = Settings(
        paths=paths or (Path("."),),
        workers=workers,
        index_files=index_files,
        source_roots=source_roots,
        options=_parse_options(options_list),
        exclude=exclude,
        worker_defaults=_parse_worker_settings(worker_settings),
    )
    try:
        outcome = collect(settings)
    except IndexFileError as error:
        click.echo(f"celery-codemod: error: {error}", err=True)
        ctx.exit(EXIT_USAGE)
    report = outcome.report
    if write:
        report = _write(outcome)
    if output_format == "json":
        click.echo(dump_json(report), nl=False)
    else:
        _print_text(report, check=check, write=write, show_diff=show_diff or not (check or write))
    ctx.exit(report.return_code(check=check, write=write))


def _write(outcome: Outcome) -> Report:
    """Write every verified change; a file that cannot be written becomes a diagnostic."""
    report = outcome.report
    failures: list[Diagnostic] = []
    for result in report.changed:
        failure = write_result(result, outcome.sources[result.path])
        if failure is not None:
            failures.append(failure)
    if not failures:
        return report
    failed = {f.path for f in failures}
    return Report(
        [r for r in report.results if r.path not in failed],
        sort_diagnostics([*report.diagnostics, *failures]),
        report.files_scanned,
        report.tasks_indexed,
    )


def _print_diagnostics(diagnostics: Sequence[Diagnostic]) -> None:
    for diagnostic in diagnostics:
        click.echo(diagnostic_line(diagnostic), err=True)


def _print_text(report: Report, *, check: bool, write: bool, show_diff: bool) -> None:
    for result in report.changed:
        if show_diff:
            assert result.new_source is not None
            click.echo(unified_diff(result.source, result.new_source, result.path), nl=False)
        if check:
            click.echo(f"would rewrite {result.path}", err=True)
        elif write:
            click.echo(f"rewrote {result.path}", err=True)
    _print_diagnostics(report.diagnostics)
    click.echo(summary_line(report, check=check, write=write), err=True)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
