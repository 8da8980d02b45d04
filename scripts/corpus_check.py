#!/usr/bin/env python3
"""Run celery-codemod over real Celery projects as a new user would, and print markdown.

    scripts/corpus_check.py --root CORPUS_ROOT [NAME...] [--details] [--stress]

The projects are listed in scripts/corpus.toml; each is expected unpacked in CORPUS_ROOT/NAME.
Every run is the installed `celery-codemod` command in a subprocess, in the project's folder, with
no cache and a hang guard (`--timeout`, 60 s by default):

- out of the box: `fix --check --format json .`, no option at all;
- configured: the same with the options a user who read the code would pass (corpus.toml);
- idempotent: a copy of the tree, `fix --write`, then `fix --check` again must change nothing;
- results: `results --format json .`, its verdict counts and its time against `fix`'s;
- stress (`--stress`): as if every task the project calls declared every parity option (an index
  file naming them all), which puts the rewrite to work on the project's real formatting; the
  rewritten copy must verify and a second run must change nothing.

Every change and every error-level diagnostic of the out-of-the-box run is matched against
docs/corpus-triage.toml, where each was triaged by reading the project's code (true or false):
the precision column is true / triaged, and any untriaged one is listed. `unread` verdicts of
`results` are matched there too (by task name); those are triaged by sample. Exit 1 when a project
hangs, crashes, fails to verify or is not idempotent, or a triaged item is false.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]

HERE = Path(__file__).resolve().parent
MANIFEST = HERE / "corpus.toml"
TRIAGE = HERE.parent / "docs" / "corpus-triage.toml"
# What --stress pretends every called task declares: one value for each parity option.
STRESS_OPTIONS = {
    "ignore_result": True,
    "serializer": "json",
    "compression": "gzip",
    "queue": "stress",
    "routing_key": "stress.key",
    "exchange": "stress-exchange",
    "priority": 5,
    "expires": 60.5,
    "delivery_mode": 2,
}
# Copied for the write checks: what the tool reads (sources and the layout's marker files).
COPIED_SUFFIXES = (".py", ".toml", ".cfg")


@dataclass
class Run:
    """One command over one project."""

    args: list[str]
    seconds: float = 0.0
    exit_code: int | None = None
    timed_out: bool = False
    stderr: str = ""
    document: dict[str, object] = field(default_factory=dict)

    @property
    def crashed(self) -> bool:
        return (
            not self.timed_out
            and (self.exit_code not in (0, 1) or "Traceback (most recent call last)" in self.stderr)
        ) or any(d["code"] == "internal-error" for d in self.diagnostics)

    @property
    def summary(self) -> dict[str, object]:
        summary = self.document.get("summary", {})
        return summary if isinstance(summary, dict) else {}

    @property
    def diagnostics(self) -> list[dict[str, object]]:
        found = self.document.get("diagnostics", [])
        return found if isinstance(found, list) else []

    @property
    def changes(self) -> list[dict[str, object]]:
        found = self.document.get("changes", [])
        return found if isinstance(found, list) else []

    def count(self, key: str) -> int:
        value = self.summary.get(key, 0)
        return value if isinstance(value, int) else 0

    def errors(self) -> list[dict[str, object]]:
        return [d for d in self.diagnostics if d["severity"] == "error"]


def run_tool(args: Sequence[str], cwd: Path, timeout: float, tool: str) -> Run:
    run = Run(list(args))
    started = time.perf_counter()
    try:
        completed = subprocess.run(
            [tool, *args], cwd=cwd, capture_output=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired:
        run.timed_out = True
        run.seconds = time.perf_counter() - started
        return run
    run.seconds = time.perf_counter() - started
    run.exit_code = completed.returncode
    run.stderr = completed.stderr.decode("utf-8", "replace")
    try:
        loaded = json.loads(completed.stdout)
    except ValueError:
        loaded = {}
    run.document = loaded if isinstance(loaded, dict) else {}
    return run


@dataclass
class Project:
    name: str
    repo: str
    commit: str
    covers: str
    configured: list[str]
    out_of_box: Run | None = None
    with_options: Run | None = None
    second_check: Run | None = None
    results: Run | None = None
    stress: Run | None = None
    stress_second: Run | None = None
    problems: list[str] = field(default_factory=list)
    # Of the problems: rewrites that did not verify, and files that change again.
    unverified: int = 0
    triaged_true: int = 0
    triaged_false: list[str] = field(default_factory=list)
    untriaged: list[str] = field(default_factory=list)
    # `unread` verdicts checked by reading the code (a sample), and how many were right.
    unread_checked: int = 0
    unread_right: int = 0

    @property
    def failed(self) -> bool:
        return bool(self.problems or self.triaged_false)


def load_manifest(path: Path) -> list[Project]:
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    return [
        Project(p["name"], p["repo"], p["commit"], p["covers"], list(p.get("configured", [])))
        for p in data["project"]
    ]


Verdicts = dict[tuple[str, ...], tuple[bool, str]]


def load_triage(path: Path) -> Verdicts:
    """(project, kind, path, line) of changes and errors, (project, "unread", task name) of
    unread verdicts -> (right?, why)."""
    if not path.exists():
        return {}
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    verdicts: Verdicts = {}
    for item in data.get("item", []):
        if item["kind"] == "unread":
            key: tuple[str, ...] = (item["project"], "unread", item["task"])
        else:
            key = (item["project"], item["kind"], item["path"], str(item["line"]))
        verdicts[key] = (item["verdict"] == "true", item["note"])
    return verdicts


def copy_tree(source: Path, target: Path) -> None:
    shutil.copytree(
        source,
        target,
        symlinks=True,
        ignore=lambda folder, names: [
            n
            for n in names
            if n == ".git" or (not n.endswith(COPIED_SUFFIXES) and not Path(folder, n).is_dir())
        ],
    )


def check_runs(project: Project, label: str, run: Run) -> None:
    if run.timed_out:
        project.problems.append(f"{label}: no result within the time limit (hang)")
    elif run.crashed:
        tail = run.stderr.strip().splitlines()[-1:] or [f"exit code {run.exit_code}"]
        project.problems.append(f"{label}: crash: {tail[0]}")
    for diagnostic in run.diagnostics:
        if diagnostic["code"] == "unsafe-rewrite":
            project.unverified += 1
            project.problems.append(
                f"{label}: {diagnostic['path']}:{diagnostic['line']}: {diagnostic['message']}"
            )


def write_and_recheck(
    project: Project, root: Path, args: list[str], timeout: float, tool: str, label: str
) -> Run | None:
    """`fix --write` on a copy, then `fix --check`: a second run must change nothing."""
    with tempfile.TemporaryDirectory(prefix="corpus-") as scratch:
        copy = Path(scratch) / project.name
        copy_tree(root, copy)
        wrote = run_tool(
            ["fix", "--write", "--allow-dirty", "--no-cache", "--format", "json", *args, "."],
            copy,
            timeout,
            tool,
        )
        check_runs(project, f"{label} --write", wrote)
        again = run_tool(
            ["fix", "--check", "--no-cache", "--format", "json", *args, "."], copy, timeout, tool
        )
        check_runs(project, f"{label} second run", again)
        if again.count("calls_changed"):
            project.unverified += 1
            project.problems.append(
                f"{label}: not idempotent: the second run changes "
                f"{again.count('calls_changed')} calls"
            )
        return again


def stress_index(project: Project, root: Path, timeout: float, tool: str, folder: Path) -> Path:
    """An index file declaring every parity option for every task name the project calls or
    declares."""
    names: set[str] = set()
    assert project.out_of_box is not None
    for run in (project.out_of_box, project.with_options):
        if run is None:
            continue
        for change in run.changes:
            names.add(str(change["task"]))
        for diagnostic in run.diagnostics:
            message = str(diagnostic["message"])
            if diagnostic["code"] == "unknown-task" and message.startswith("no task named '"):
                names.add(message.split("'")[1])
    indexed = run_tool(["index", *project.configured, "."], root, timeout, tool)
    tasks = indexed.document.get("tasks", [])
    names |= {t["name"] for t in tasks} if isinstance(tasks, list) else set()
    path = folder / "stress-index.json"
    declared = [
        {
            "name": n,
            "path": "<stress>",
            "line": 1,
            "options": STRESS_OPTIONS,
            "unresolved_options": [],
        }
        for n in sorted(names)
    ]
    path.write_text(json.dumps({"version": 1, "tool": "corpus_check", "tasks": declared}))
    return path


def run_project(project: Project, root: Path, timeout: float, tool: str, stress: bool) -> None:
    base = ["fix", "--check", "--no-cache", "--format", "json"]
    project.out_of_box = run_tool([*base, "."], root, timeout, tool)
    check_runs(project, "out of the box", project.out_of_box)
    if project.configured:
        project.with_options = run_tool([*base, *project.configured, "."], root, timeout, tool)
        check_runs(project, "configured", project.with_options)
    if project.out_of_box.count("calls_changed"):
        project.second_check = write_and_recheck(project, root, [], timeout, tool, "write")
    results = run_tool(["results", "--no-cache", "--format", "json", "."], root, timeout, tool)
    if results.exit_code == 2 and "No such command" in results.stderr:
        results = None  # this build has no `results`
    elif results is not None:
        check_runs(project, "results", results)
    project.results = results
    if stress:
        with tempfile.TemporaryDirectory(prefix="corpus-stress-") as folder:
            index = stress_index(project, root, timeout, tool, Path(folder))
            project.stress = run_tool(
                [*base, "--index", str(index), *project.configured, "."], root, timeout, tool
            )
            check_runs(project, "stress", project.stress)
            project.stress_second = write_and_recheck(
                project,
                root,
                ["--index", str(index), *project.configured],
                timeout,
                tool,
                "stress",
            )


def triage(project: Project, verdicts: Verdicts) -> None:
    """Match what the out-of-the-box run says against the triage file."""
    run = project.out_of_box
    assert run is not None
    items: list[tuple[tuple[str, ...], str]] = []
    for change in run.changes:
        added = ", ".join(f"{k}={v!r}" for k, v in dict(change["added"]).items())  # type: ignore[call-overload]
        key = (project.name, "change", str(change["path"]), str(change["line"]))
        items.append((key, f"{change['task']}: {added}"))
    for error in run.errors():
        key = (project.name, "error", str(error["path"]), str(error["line"]))
        items.append((key, f"{error['code']}: {error['message']}"))
    for key, what in items:
        where = f"{key[1]} {key[2]}:{key[3]}: {what}"
        verdict = verdicts.get(key)
        if verdict is None:
            project.untriaged.append(where)
        elif verdict[0]:
            project.triaged_true += 1
        else:
            project.triaged_false.append(f"{where} ({verdict[1]})")
    if project.results is None:
        return
    for task in project.results.document.get("tasks", []):  # type: ignore[union-attr]
        if task.get("verdict") != "unread":
            continue
        verdict = verdicts.get((project.name, "unread", str(task["name"])))
        if verdict is not None:
            project.unread_checked += 1
            project.unread_right += verdict[0]
            if not verdict[0]:
                project.triaged_false.append(f"unread {task['name']} ({verdict[1]})")


def verdict_counts(run: Run | None) -> str:
    if run is None:
        return "-"
    counts: Counter[str] = Counter()
    for task in run.document.get("tasks", []):  # type: ignore[union-attr]
        counts[str(task.get("verdict"))] += 1
    return " / ".join(str(counts[v]) for v in ("unread", "read", "unknown", "ignored"))


def summary_table(projects: Sequence[Project]) -> list[str]:
    lines = [
        "| project | files | seconds | hang | crash | tasks indexed (out of the box / configured) "
        "| calls changed (out of the box / configured) | errors | changes and errors right "
        "(true / triaged) | untriaged | unverified or not idempotent "
        "| results: unread / read / unknown / ignored | unread checked (right / read) "
        "| results s / fix s |",
        "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for p in projects:
        oob = p.out_of_box
        assert oob is not None
        conf = p.with_options or oob
        hang = sum(r.timed_out for r in (oob, conf, p.results) if r is not None)
        crash = sum(r.crashed for r in (oob, conf, p.results) if r is not None)
        triaged = p.triaged_true + len(p.triaged_false)
        ratio = (
            f"{p.results.seconds / oob.seconds:.2f}"
            if p.results is not None and oob.seconds
            else "-"
        )
        lines.append(
            f"| {p.name} | {oob.count('files_scanned')} | {oob.seconds:.1f} | {hang} | {crash} "
            f"| {oob.count('tasks_indexed')} / {conf.count('tasks_indexed')} "
            f"| {oob.count('calls_changed')} / {conf.count('calls_changed')} "
            f"| {len(oob.errors())} | {p.triaged_true} / {triaged} | {len(p.untriaged)} "
            f"| {p.unverified} | {verdict_counts(p.results)} "
            f"| {p.unread_right} / {p.unread_checked} | {ratio} |"
        )
    return lines


def stress_table(projects: Sequence[Project]) -> list[str]:
    lines = [
        "| project | calls changed | files changed | unverified | second run changes |",
        "|---|--:|--:|--:|--:|",
    ]
    for p in projects:
        if p.stress is None:
            continue
        unsafe = sum(1 for d in p.stress.diagnostics if d["code"] == "unsafe-rewrite")
        second = p.stress_second.count("calls_changed") if p.stress_second else 0
        lines.append(
            f"| {p.name} | {p.stress.count('calls_changed')} | {p.stress.count('files_changed')} "
            f"| {unsafe} | {second} |"
        )
    return lines


def details(projects: Sequence[Project]) -> list[str]:
    lines = []
    for p in projects:
        for title, items in (
            ("problems", p.problems),
            ("triaged false", p.triaged_false),
            ("untriaged", p.untriaged),
        ):
            if items:
                lines.append(f"- **{p.name}**, {title}:")
                lines.extend(f"  - {item}" for item in items)
    return lines or ["Nothing to report: no problem, every item triaged true."]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*", metavar="NAME", help="projects (default: all)")
    parser.add_argument("--root", type=Path, required=True, help="folder holding the projects")
    parser.add_argument("--timeout", type=float, default=60.0, help="hang guard per command (s)")
    parser.add_argument(
        "--tool",
        default=str(Path(sys.executable).with_name("celery-codemod")),
        help="the command to run (default: the one beside this Python)",
    )
    parser.add_argument("--details", action="store_true", help="list problems and untriaged items")
    parser.add_argument("--stress", action="store_true", help="also run the stress check")
    args = parser.parse_args(argv)
    projects = load_manifest(MANIFEST)
    if args.names:
        unknown = set(args.names) - {p.name for p in projects}
        if unknown:
            parser.error(f"not in {MANIFEST.name}: {', '.join(sorted(unknown))}")
        projects = [p for p in projects if p.name in args.names]
    verdicts = load_triage(TRIAGE)
    for project in projects:
        root = args.root / project.name
        if not root.is_dir():
            parser.error(f"not a directory: {root}")
        print(f"checking {project.name} ...", file=sys.stderr, flush=True)
        run_project(project, root, args.timeout, args.tool, args.stress)
        triage(project, verdicts)
    print("\n".join(summary_table(projects)))
    if args.stress:
        print()
        print("\n".join(stress_table(projects)))
    if args.details:
        print()
        print("\n".join(details(projects)))
    return 1 if any(p.failed for p in projects) else 0


if __name__ == "__main__":
    sys.exit(main())
