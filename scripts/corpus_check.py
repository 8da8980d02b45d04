#!/usr/bin/env python3
"""Run celery-codemod's `index` and `fix` over real projects, writing nothing, and print markdown.

    scripts/corpus_check.py DIR... [--details] [--stress]

For each DIR (a project's source tree): pass 1 alone (as `index` does, with a JSON round trip of
the index), then both passes (as `fix` does, through `codemods.run.collect`). Printed: a markdown
table with one row per project, and with `--details` every finding behind its last three counts.
Exit 1 when any project has a crash, a non-idempotent file or an unverifiable rewrite.

Real projects rarely declare options on the tasks they call by name, so few calls change. With
`--stress` each project runs a second time as if every task it calls declared every parity
option: the workers set them app-wide (`Settings.worker_defaults`), and the names the first run
reported as `unknown-task` come from an index file. Then every call whose name resolves changes,
which puts the rewrite to work on the project's real formatting.

- crashes: exceptions escaping the tool (caught here per project and per file), plus the tool's own
  `internal-error` diagnostics;
- non-idempotent: a changed file that changes again, checked twice: `rewrite_source` over its new
  text with the same index, and a second `collect` over a copy of the tree with the new text in;
- unverifiable: `unsafe-rewrite` diagnostics (the rewrite did not verify, the file was left alone).
"""

from __future__ import annotations

import argparse
import ast
import io
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
import tokenize
import traceback
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from codemods.calls import scan_calls
from codemods.indexfile import dump_index, load_index
from codemods.model import OptionValue
from codemods.modname import module_name
from codemods.report import Report
from codemods.rewrite import rewrite_source, source_lines
from codemods.run import Outcome, Settings, collect

# What --stress pretends every worker sets app-wide: one value for each parity option.
STRESS_DEFAULTS: tuple[tuple[str, OptionValue], ...] = (
    ("ignore_result", True),
    ("serializer", "json"),
    ("compression", "gzip"),
    ("queue", "stress"),
    ("routing_key", "stress.key"),
    ("exchange", "stress-exchange"),
    ("priority", 5),
    ("expires", 60.5),
    ("delivery_mode", 2),
)
# Bytes a file must hold to contain a call site (as the tool's own pre-filter).
CALL_HINTS = (b"send_task", b"signature", b"subtask", b"schedule")
UNKNOWN_TASK = re.compile(r"no task named '([^']+)'")
CRASH_CODES = frozenset({"internal-error"})
UNSAFE_CODE = "unsafe-rewrite"


@dataclass
class ProjectResult:
    """What one project's runs found."""

    name: str
    commit: str = "-"
    files: int = 0
    tasks: int = 0
    sites: Counter[str] = field(default_factory=Counter)
    # Names called but not indexed (from `unknown-task` diagnostics), for --stress.
    unknown_names: set[str] = field(default_factory=set)
    calls_changed: int = 0
    files_changed: int = 0
    diagnostics: Counter[str] = field(default_factory=Counter)
    crashes: list[str] = field(default_factory=list)
    non_idempotent: list[str] = field(default_factory=list)
    unsafe: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def failed(self) -> bool:
        return bool(self.crashes or self.non_idempotent or self.unsafe)


def _crash(where: str, error: BaseException) -> str:
    frame = traceback.extract_tb(error.__traceback__)[-1] if error.__traceback__ else None
    at = f" at {Path(frame.filename).name}:{frame.lineno}" if frame else ""
    return f"{where}: {type(error).__name__}: {error}{at}"


def git_commit(directory: Path) -> str:
    completed = subprocess.run(
        ["git", "-C", str(directory), "rev-parse", "HEAD"],
        capture_output=True,
        text=True,
        check=False,
    )
    return completed.stdout.strip()[:12] if completed.returncode == 0 else "-"


def check_index(root: Path, result: ProjectResult) -> None:
    """Pass 1 alone, as `celery-codemod index DIR`; its JSON must load back to the same tasks."""
    try:
        index = collect(Settings(paths=(), workers=(root,))).index
        loaded = {task.name: task for task in load_index(dump_index(index), path="<index>")}
    except Exception as error:
        result.crashes.append(_crash("index", error))
        return
    for name, task in index.tasks.items():
        again = loaded.get(name)
        if again is None or dict(again.options) != dict(task.options):
            result.crashes.append(f"index: task {name!r} does not survive the JSON round trip")


def count_sites(root: Path, result: ProjectResult) -> None:
    """The call sites pass 2 reads (send_task calls, signatures, beat entries), per kind, in
    every `.py` file under `root` that holds one of the tool's hints."""
    for path in sorted(root.rglob("*.py")):
        if path.is_symlink() or not path.is_file():
            continue
        data = path.read_bytes()
        if not any(hint in data for hint in CALL_HINTS):
            continue
        try:
            encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
            text = data.decode(encoding)
            tree = ast.parse(text)
        except (SyntaxError, ValueError, LookupError):
            continue  # the tool reports it as parse-error
        try:
            module, is_package = module_name(path)
            scanned = scan_calls(tree, source_lines(text), module=module, is_package=is_package)
        except Exception as error:
            result.crashes.append(_crash(str(path), error))
            continue
        result.sites.update(site.kind for site in scanned.sites)


def rerun_files(outcome: Outcome, result: ProjectResult) -> None:
    """`rewrite_source` over each changed file's new text, with the same index: no change."""
    for changed in outcome.report.changed:
        assert changed.new_source is not None
        source = outcome.sources[changed.path]
        module, is_package = module_name(source.path)
        try:
            again = rewrite_source(
                changed.new_source,
                outcome.index,
                path=changed.path,
                module=module,
                is_package=is_package,
            )
        except Exception as error:
            result.crashes.append(_crash(f"{changed.path} (second run)", error))
            continue
        if again.new_source is not None:
            result.non_idempotent.append(f"{changed.path}: changes again (rewrite_source)")
        for diagnostic in again.diagnostics:
            if diagnostic.code == UNSAFE_CODE:
                result.unsafe.append(f"{changed.path}:{diagnostic.line} (second run)")


def rerun_tree(root: Path, settings: Settings, outcome: Outcome, result: ProjectResult) -> None:
    """A second `collect` over a copy of the tree holding the new text: it must change nothing."""
    if not outcome.report.changed:
        return
    with tempfile.TemporaryDirectory(prefix="corpus-check-") as scratch:
        copy = Path(scratch) / root.name
        shutil.copytree(
            root,
            copy,
            symlinks=True,
            ignore=lambda folder, names: [
                n for n in names if not n.endswith(".py") and not Path(folder, n).is_dir()
            ],
        )
        for changed in outcome.report.changed:
            assert changed.new_source is not None
            source = outcome.sources[changed.path]
            target = copy / source.path.resolve().relative_to(root.resolve())
            target.write_bytes(changed.new_source.encode(source.encoding, "surrogateescape"))
        try:
            second = collect(replace(settings, paths=(copy,))).report
        except Exception as error:
            result.crashes.append(_crash("second collect", error))
            return
        for again in second.changed:
            relative = Path(again.path).resolve().relative_to(copy.resolve())
            result.non_idempotent.append(f"{root.name}/{relative}: changes again (second collect)")


def stress_index(names: set[str], path: Path) -> Path:
    """An index file (DESIGN.md's format) declaring every parity option for each name."""
    options = dict(STRESS_DEFAULTS)
    tasks = [
        {"name": n, "path": "<stress>", "line": 1, "options": options, "unresolved_options": []}
        for n in sorted(names)
    ]
    path.write_text(json.dumps({"version": 1, "tool": "corpus_check", "tasks": tasks}))
    return path


def run_project(root: Path, stress_names: set[str] | None = None) -> ProjectResult:
    """Index and fix one tree; with `stress_names`, as --stress describes (those names in an
    index file)."""
    if stress_names is None:
        result = ProjectResult(root.name, commit=git_commit(root))
        settings = Settings(paths=(root,))
    else:
        result = ProjectResult(f"{root.name} (stress)", commit=git_commit(root))
        index_file = stress_index(stress_names, Path(tempfile.mkdtemp()) / "stress-index.json")
        settings = Settings(
            paths=(root,),
            workers=(root,),
            index_files=(index_file,),
            worker_defaults=STRESS_DEFAULTS,
        )
    started = time.perf_counter()
    if stress_names is None:
        check_index(root, result)
    try:
        outcome = collect(settings)
    except Exception as error:
        result.crashes.append(_crash("fix", error))
        result.seconds = time.perf_counter() - started
        return result
    report: Report = outcome.report
    result.files = report.files_scanned
    result.tasks = report.tasks_indexed
    result.calls_changed = report.calls_changed
    result.files_changed = len(report.changed)
    result.diagnostics = Counter(d.code for d in report.diagnostics)
    for diagnostic in report.diagnostics:
        unknown = UNKNOWN_TASK.match(diagnostic.message)
        if diagnostic.code == "unknown-task" and unknown is not None:
            result.unknown_names.add(unknown.group(1))
        where = f"{diagnostic.path}:{diagnostic.line}: {diagnostic.message}"
        if diagnostic.code in CRASH_CODES:
            result.crashes.append(where)
        elif diagnostic.code == UNSAFE_CODE:
            result.unsafe.append(where)
    count_sites(root, result)
    rerun_files(outcome, result)
    try:
        rerun_tree(root, settings, outcome, result)
    except Exception as error:
        result.crashes.append(_crash("second collect", error))
    result.seconds = time.perf_counter() - started
    return result


def summary_table(results: Sequence[ProjectResult]) -> list[str]:
    lines = [
        "| project | commit | files | tasks indexed | send_task calls | signatures | beat entries "
        "| calls changed | files changed | diagnostics by code | crashes | non-idempotent "
        "| unverifiable | seconds |",
        "|---|---|--:|--:|--:|--:|--:|--:|--:|---|--:|--:|--:|--:|",
    ]
    for r in results:
        codes = ", ".join(f"{code} {n}" for code, n in sorted(r.diagnostics.items())) or "-"
        lines.append(
            f"| {r.name} | {r.commit} | {r.files} | {r.tasks} | {r.sites['send_task']} "
            f"| {r.sites['signature']} | {r.sites['beat']} | {r.calls_changed} "
            f"| {r.files_changed} | {codes} | {len(r.crashes)} | {len(r.non_idempotent)} "
            f"| {len(r.unsafe)} | {r.seconds:.1f} |"
        )
    return lines


def details(results: Sequence[ProjectResult]) -> list[str]:
    lines = []
    for r in results:
        for title, items in (
            ("crashes", r.crashes),
            ("non-idempotent files", r.non_idempotent),
            ("unverifiable rewrites", r.unsafe),
        ):
            if items:
                lines.append(f"- **{r.name}**, {title}:")
                lines.extend(f"  - {item}" for item in items)
    return lines or ["No crashes, non-idempotent files or unverifiable rewrites."]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dirs", nargs="+", type=Path, metavar="DIR")
    parser.add_argument(
        "--details", action="store_true", help="list every crash and unverifiable rewrite"
    )
    parser.add_argument(
        "--stress", action="store_true", help="also run as if workers set every parity option"
    )
    args = parser.parse_args(argv)
    results = []
    for directory in args.dirs:
        if not directory.is_dir():
            parser.error(f"not a directory: {directory}")
        print(f"checking {directory} ...", file=sys.stderr, flush=True)
        first = run_project(directory)
        results.append(first)
        if args.stress:
            print(f"checking {directory} (stress) ...", file=sys.stderr, flush=True)
            results.append(run_project(directory, first.unknown_names))
    print("\n".join(summary_table(results)))
    if args.details:
        print()
        print("\n".join(details(results)))
    return 1 if any(r.failed for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
