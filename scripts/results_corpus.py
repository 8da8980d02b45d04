#!/usr/bin/env python3
"""Run `celery-codemod results` over real projects, writing nothing, and print markdown.

    scripts/results_corpus.py DIR... [--unread N]

For each DIR (a project's source tree): the verdict counts (from one `results --format json` run),
the apps that need no result backend, and the CPU time of `results --check` against `fix --check`
over the same tree (the same mode and the same kind of output: a text report), both cold (no
cache) and warm (a cache both share, filled by one `fix` and one `results` run first), each the
best of three runs, with Python's bytecode cache on. With `--unread N`, the evidence of up to N
`unread` verdicts per project is listed for triage by reading the code. Exit 1 when a run fails
(exit 2, or a traceback).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

TOOL = [sys.executable, "-m", "codemods"]
# Python's bytecode cache on, as in an installed tool: without it every run compiles the tool's
# modules again, which `results` (more modules) pays more for than `fix`.
ENVIRONMENT = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def run(
    args: list[str], cwd: Path, cache: Path | None
) -> tuple[float, subprocess.CompletedProcess[str]]:
    """(CPU seconds of the run and its worker processes, the run). CPU time, not wall time: the
    machine is shared, and the two commands are compared with each other."""
    extra = ["--no-cache"] if cache is None else ["--cache-dir", str(cache)]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run(
        [*TOOL, *args, ".", *extra],
        cwd=cwd,
        env=ENVIRONMENT,
        capture_output=True,
        text=True,
        check=False,
    )
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return cpu, done


def best(
    args: list[str], cwd: Path, cache: Path | None
) -> tuple[float, subprocess.CompletedProcess[str]]:
    runs = [run(args, cwd, cache) for _ in range(3)]
    return min(runs, key=lambda item: item[0])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dirs", nargs="+", type=Path)
    parser.add_argument(
        "--unread", type=int, default=0, help="list evidence of N unread per project"
    )
    options = parser.parse_args()
    failed = False
    rows = []
    details = []
    for folder in options.dirs:
        folder = folder.resolve()
        with tempfile.TemporaryDirectory() as cache_dir:
            cache = Path(cache_dir)
            fix_cold, fix_done = best(["fix", "--check"], folder, None)
            results_cold, checked = best(["results", "--check"], folder, None)
            _, results_done = run(["results", "--format", "json"], folder, None)
            run(["fix", "--check"], folder, cache)  # fills the cache
            run(["results"], folder, cache)
            fix_warm, _ = best(["fix", "--check"], folder, cache)
            results_warm, _ = best(["results", "--check"], folder, cache)
        if (
            fix_done.returncode == 2
            or checked.returncode == 2
            or results_done.returncode != 0
            or "Traceback" in results_done.stderr + checked.stderr
        ):
            failed = True
            rows.append(
                f"| {folder.name} | failed: {results_done.stderr.strip().splitlines()[-1:]} |"
            )
            continue
        document = json.loads(results_done.stdout)
        summary = document["summary"]
        apps = document["apps"]
        free = sum(1 for a in apps if not a["backend_needed"])
        rows.append(
            f"| {folder.name} | {summary['tasks']} | {summary['unread']} | {summary['read']} | "
            f"{summary['unknown']} | {summary['ignored']} | {free} of {len(apps)} | "
            f"{fix_cold:.2f} | {results_cold:.2f} | {results_cold / fix_cold:.2f} | "
            f"{fix_warm:.2f} | {results_warm:.2f} | {results_warm / fix_warm:.2f} |"
        )
        unread = [t for t in document["tasks"] if t["verdict"] == "unread"][: options.unread]
        for task in unread:
            details.append(f"- {folder.name}: `{task['name']}` ({task['path']}:{task['line']})")
            for item in task["evidence"]:
                where = " (tests)" if item["in_tests"] else ""
                eager = " (eager)" if item["eager"] else ""
                detail = f" {item['detail']}" if item.get("detail") else ""
                details.append(
                    f"  - {item['path']}:{item['line']} {item['kind']}{detail}{where}{eager}"
                )
    print(
        "| project | tasks | unread | read | unknown | ignored | apps without backend | "
        "fix cold CPU s | results cold CPU s | ratio | fix warm CPU s | results warm CPU s | "
        "ratio |"
    )
    print("|---|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|")
    print("\n".join(rows))
    if details:
        print()
        print("\n".join(details))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
