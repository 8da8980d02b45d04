"""Command line: options (over `[tool.celery-codemod]`) in, DESIGN.md's exit codes out."""

from __future__ import annotations

import io
import json
import os
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click

from codemods import __version__
from codemods.cache import default_cache_dir
from codemods.commands import FixOptions, fix, print_diagnostics
from codemods.config import (
    ConfigError,
    FileConfig,
    load_config,
    parse_size,
    setting_value,
    shortened,
)
from codemods.discovery import repository_root
from codemods.indexfile import dump_index
from codemods.linking import FROM_CONFIG
from codemods.model import PARITY_OPTIONS, OptionValue
from codemods.report import EXIT_FINDINGS, EXIT_USAGE
from codemods.run import DEFAULT_MAX_FILE_SIZE, Settings, collect

OPTION_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
DEFAULT_SPLIT_DEPTH = 2

_paths = click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
_source_root = click.option(
    "--source-root",
    "source_roots",
    multiple=True,
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Folder that module names are relative to (repeatable; default: inferred from the "
    "absolute imports, manage.py, src/ and packaging files, else __init__.py files).",
)
_exclude = click.option(
    "--exclude", multiple=True, metavar="GLOB", help="Skip files matching GLOB (repeatable)."
)


def _parse_options(value: str | None, param: str = "--options") -> tuple[str, ...]:
    if value is None:
        return PARITY_OPTIONS
    names = tuple(n.strip() for n in value.split(",") if n.strip())
    bad = [n for n in names if not OPTION_NAME.match(n)]
    if not names or bad:
        raise click.BadParameter(f"not a list of option names: {value!r}", param_hint=param)
    return names


def _worker_options(
    settings: Sequence[tuple[str, OptionValue]],
) -> tuple[tuple[str, OptionValue], ...]:
    """(("task_ignore_result", True),) -> (("ignore_result", True),): the task option each
    setting defaults. Raises ValueError naming a setting that defaults no task option."""
    options = []
    for name, value in settings:
        option = FROM_CONFIG.get(name.strip())
        if option is None:
            raise ValueError(f"{name!r} is not one of {', '.join(sorted(FROM_CONFIG))}")
        options.append((option, value))
    return tuple(options)


def _parse_worker_settings(values: tuple[str, ...]) -> tuple[tuple[str, OptionValue], ...]:
    """`--worker-setting task_ignore_result=true` -> (("ignore_result", True),)."""
    settings: list[tuple[str, OptionValue]] = []
    for item in values:
        name, sep, raw = item.partition("=")
        try:
            if not sep:
                raise ValueError("expected NAME=VALUE")
            settings.extend(_worker_options([(name, setting_value(raw))]))
        except ValueError as error:
            raise click.BadParameter(
                f"{shortened(item)}: {error}", param_hint="--worker-setting"
            ) from None
    return tuple(settings)


def _configured_worker_settings(
    ctx: click.Context, config: FileConfig
) -> tuple[tuple[str, OptionValue], ...]:
    try:
        return _worker_options(config.worker_settings)
    except ValueError as error:
        click.echo(
            f"celery-codemod: error: {config.path}: [tool.celery-codemod] worker-settings: {error}",
            err=True,
        )
        ctx.exit(EXIT_USAGE)
        raise  # unreachable: ctx.exit raises


def _size(value: str | None) -> int | None:
    if value is None:
        return None
    size = parse_size(value)
    if size is None:
        raise click.BadParameter(
            f"not a size from 1 byte to 8 EiB: {shortened(value)} (e.g. 10MB)",
            param_hint="--max-file-size",
        )
    return size


def available_cores() -> int:
    """The cores this process may run on (a container or `taskset` may allow fewer than exist)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1


def _jobs(requested: int | None) -> int | None:
    """More processes than cores only add memory and start-up time: at most one per core."""
    return None if requested is None else min(requested, available_cores())


def _config(ctx: click.Context) -> FileConfig:
    try:
        return load_config()
    except ConfigError as error:
        click.echo(f"celery-codemod: error: {error}", err=True)
        ctx.exit(EXIT_USAGE)
        raise  # unreachable: ctx.exit raises


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="celery-codemod")
def main() -> None:
    """Copy Celery task declarations' options onto send_task call sites.

    Pass 1 indexes the tasks the workers declare; pass 2 adds to every send_task call what the
    declaration sets and the call lacks (ignore_result, serializer, queue, ...), and reports calls
    to unknown tasks and arguments that do not fit. Settings can also live in
    [tool.celery-codemod] of pyproject.toml; command-line options win.
    """
    # A file name that is not UTF-8 is printed as the bytes it is, as git does.
    for stream in (sys.stdout, sys.stderr):
        if isinstance(stream, io.TextIOWrapper):
            stream.reconfigure(errors="surrogateescape")


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
    config = _config(ctx)
    settings = Settings(
        paths=(),
        workers=paths or config.workers or (Path("."),),
        source_roots=source_roots or config.source_roots,
        exclude=exclude or config.exclude,
        worker_defaults=_configured_worker_settings(ctx, config),
    )
    if app_spec:
        from codemods import live

        try:
            registry = live.live_index(app_spec, settings.source_roots)
        except live.LiveAppError as error:
            click.echo(f"celery-codemod: error: {error}", err=True)
            ctx.exit(EXIT_USAGE)
        if compare:
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
    outcome = collect(settings)
    print_diagnostics(outcome.report.diagnostics)
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
    help="Tree holding task declarations (repeatable; default: PATHS, or the repository when "
    "PATHS are all files).",
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
@click.option(
    "--patches",
    "patches_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Write one git patch per directory into this folder; the tree is not touched. Files "
    "with uncommitted changes are patched from HEAD's version; other repositories (submodules) "
    "get their patches in DIR/<their path>/.",
)
@click.option(
    "--split-depth",
    type=click.IntRange(min=0),
    help=f"With --patches: group files by this many folders (default: {DEFAULT_SPLIT_DEPTH}).",
)
@click.option(
    "--split-by",
    type=click.Choice(["directory", "codeowners"]),
    default="directory",
    show_default=True,
    help="With --patches: one patch per directory, or per CODEOWNERS owner set.",
)
@click.option(
    "--allow-dirty", is_flag=True, help="With --write: also rewrite files with uncommitted changes."
)
@click.option(
    "--force-write",
    is_flag=True,
    help="With --write: also replace read-only files, files with several hard links (the "
    "other names keep the old text) and files whose owner or group cannot be kept.",
)
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
    type=click.Choice(["text", "json", "github", "sarif"]),
    default="text",
    show_default=True,
    help="Output format.",
)
@click.option(
    "--strict/--no-strict",
    default=None,
    help="Treat warnings (unknown task names, ...) as errors.",
)
@click.option(
    "--worker-setting",
    "worker_settings",
    multiple=True,
    metavar="NAME=VALUE",
    help="A worker setting the code does not show, e.g. task_ignore_result=true (repeatable).",
)
@click.option(
    "-j",
    "--jobs",
    type=click.IntRange(min=1),
    help="Processes that scan files (default and maximum: one per core).",
)
@click.option(
    "--cache-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Where scans are cached (default: $XDG_CACHE_HOME/celery-codemod).",
)
@click.option("--no-cache", is_flag=True, help="Neither read nor write the scan cache.")
@click.option(
    "--max-file-size",
    metavar="SIZE",
    help="Leave larger files alone, reported as file-too-large (default: 10MiB).",
)
@_source_root
@_exclude
@click.option(
    "-v", "--verbose", is_flag=True, help="Also print the source roots module names start from."
)
@click.pass_context
def fix_command(ctx: click.Context, /, **values: Any) -> None:
    """Add the options each send_task call lacks, under PATHS (default: .).

    Without --check, --write or --patches, print the diff (git apply takes it) and exit 0.
    """
    ctx.exit(fix(_fix_options(ctx, **values)))


def _results_parameters() -> list[click.Parameter]:
    """`fix`'s options, without --options (nothing is propagated), with --fix-typos."""
    params = [p for p in fix_command.params if p.name not in ("options_list", "show_diff")]
    params.append(
        click.Option(
            ["--diff", "show_diff"],
            is_flag=True,
            help="Print the declaration diffs (git apply takes them); the report goes to stderr.",
        )
    )
    params.append(
        click.Option(
            ["--fix-typos"],
            is_flag=True,
            help="Rename a misspelled ignore_result (ignore_results=True) where nobody reads the "
            "result; other misspelled options are only reported (a fix changes behaviour).",
        )
    )
    return params


@main.command("results", params=_results_parameters())
@click.pass_context
def results_command(ctx: click.Context, /, fix_typos: bool, **values: Any) -> None:
    """Declare ignore_result=True on the tasks whose results nobody reads, under PATHS
    (default: .), and say which apps need a result backend at all.

    Every call of every task is followed to where its result goes. Without --check, --write,
    --patches or --diff, print one line per task (its verdict: unread, read, unknown, ignored)
    and per app, and exit 0.
    """
    from codemods.resultscmd import ResultsOptions, results

    options = _fix_options(ctx, options_list=None, **values)
    ctx.exit(results(ResultsOptions(options, fix_typos=fix_typos)))


def _fix_options(
    ctx: click.Context,
    *,
    paths: tuple[Path, ...],
    workers: tuple[Path, ...],
    index_files: tuple[Path, ...],
    check: bool,
    write: bool,
    patches_dir: Path | None,
    split_depth: int | None,
    split_by: str,
    allow_dirty: bool,
    force_write: bool,
    show_diff: bool,
    options_list: str | None,
    output_format: str,
    strict: bool | None,
    worker_settings: tuple[str, ...],
    jobs: int | None,
    cache_dir: Path | None,
    no_cache: bool,
    max_file_size: str | None,
    source_roots: tuple[Path, ...],
    exclude: tuple[str, ...],
    verbose: bool,
) -> FixOptions:
    """The options of `fix` (and of `results`, which shares them) from the command line over
    the configuration."""
    if sum((check, write, patches_dir is not None)) > 1:
        raise click.UsageError("--check, --write and --patches cannot be used together")
    config = _config(ctx)
    options = _parse_options(options_list) if options_list else config.options or PARITY_OPTIONS
    if config.options is not None and not options_list:
        _parse_options(",".join(config.options), "options")
    workers = workers or config.workers
    if not (workers or index_files or config.index) and paths and all(p.is_file() for p in paths):
        # Files named one by one (pre-commit, an editor): their tasks are declared elsewhere.
        workers = (repository_root(Path.cwd()) or Path("."),)
    settings = Settings(
        paths=paths or (Path("."),),
        workers=workers,
        index_files=index_files or config.index,
        source_roots=source_roots or config.source_roots,
        options=options,
        exclude=exclude or config.exclude,
        worker_defaults=_parse_worker_settings(worker_settings)
        or _configured_worker_settings(ctx, config),
        max_file_size=next(
            size
            for size in (_size(max_file_size), config.max_file_size, DEFAULT_MAX_FILE_SIZE)
            if size is not None
        ),
        jobs=_jobs(jobs or config.jobs),
        cache_dir=None if no_cache else cache_dir or config.cache_dir or default_cache_dir(),
    )
    return FixOptions(
        settings=settings,
        check=check,
        write=write,
        patches_dir=patches_dir,
        split_depth=next(
            d for d in (split_depth, config.split_depth, DEFAULT_SPLIT_DEPTH) if d is not None
        ),
        split_by_codeowners=split_by == "codeowners",
        allow_dirty=allow_dirty,
        force_write=force_write,
        output_format=output_format,
        show_diff=show_diff,
        severity=config.severity,
        strict=strict if strict is not None else bool(config.strict),
        verbose=verbose,
    )


@main.group("cache")
def cache_group() -> None:
    """The scan cache of the repository holding the current folder."""


_cache_dir = click.option(
    "--cache-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Where scans are cached (default: $XDG_CACHE_HOME/celery-codemod).",
)


@cache_group.command("info")
@_cache_dir
@click.option(
    "--format", "output_format", type=click.Choice(["text", "json"]), default="text",
    show_default=True, help="Output format.",
)  # fmt: skip
@click.pass_context
def cache_info_command(ctx: click.Context, cache_dir: Path | None, output_format: str) -> None:
    """Show this repository's cache database: its path, rows and size."""
    from codemods import cache

    shown = cache.info(cache_dir or _config(ctx).cache_dir or default_cache_dir())
    if output_format == "json":
        click.echo(json.dumps(shown, indent=2, sort_keys=True))
        return
    rows = shown["rows"]
    assert isinstance(rows, dict)
    click.echo(f"database: {shown['database']}{'' if shown['exists'] else ' (none yet)'}")
    click.echo(f"rows: {', '.join(f'{n} {t}' for t, n in rows.items()) or 'none'}")
    click.echo(f"size: {shown['bytes']:,} bytes")
    click.echo(f"other databases: {shown['other_databases']} ({shown['other_bytes']:,} bytes)")


@cache_group.command("clean")
@_cache_dir
@click.option("--all", "everything", is_flag=True, help="Every repository's database.")
@click.pass_context
def cache_clean_command(ctx: click.Context, cache_dir: Path | None, everything: bool) -> None:
    """Delete this repository's cache database (with --all, every one)."""
    from codemods import cache

    removed = cache.clean(
        cache_dir or _config(ctx).cache_dir or default_cache_dir(), everything=everything
    )
    for path in removed:
        click.echo(f"removed {path}", err=True)
    click.echo(f"celery-codemod: {len(removed)} cache database(s) removed", err=True)
