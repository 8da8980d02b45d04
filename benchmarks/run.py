"""Benchmark celery-codemod against what reading the tree costs and against a plain LibCST codemod.

For each size, on one generated tree (see generate.py), in separate subprocesses:

  (a) `git grep -l -e send_task -e task`: the cost of reading the files;
  (b) floor.py: discover with git, read every file, libcst-parse the ones with a needle;
  (c) libcst_baseline.py run by `python -m libcst.tool codemod`: what a user would write instead;
  (d) `celery-codemod fix --check`, cold (empty cache) and warm (same cache, second run);
  (f) the pre-commit run: `fix --check` on 5 files named, the index from the warm cache.

With `--renames N`, a folder holding most of the tree is renamed N times (each rename
committed); after each, a warm run's wall time, peak RSS and the cache's row counts are printed:
they must not grow with the number of past runs.

Each row gives wall seconds, CPU seconds (user + sys of the process and the children it waited
for, from os.wait4) and peak RSS (ru_maxrss: the largest single process of that command's tree).

    python benchmarks/run.py                    # size S
    python benchmarks/run.py --size M
    python benchmarks/run.py --sizes S,M,L      # plus the tool's seconds per 1,000 files
    python benchmarks/run.py --size M --keep /tmp/bench-m   # generate once, reuse later
    python benchmarks/run.py --size M --repeat 5            # medians of 5 runs per row
    python benchmarks/run.py --size S --renames 7 --no-libcst
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import functools
import json
import os
import platform
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO

sys.path.insert(0, str(Path(__file__).resolve().parent))

import generate  # a sibling script, not a package

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "benchmarks"
LIBCST_MAX_FILES = 20_000  # above this (size L) the LibCST baseline would take most of an hour
TARGET_VS_LIBCST = 100.0
TARGET_VS_FLOOR = 1.5
TARGET_WARM_VS_GREP = 3.0
TARGET_PRECOMMIT_VS_GREP = 2.0
TARGET_PRECOMMIT_S = 0.3
PRECOMMIT_FILES = 5
TARGET_RSS_MB = 300.0


@dataclass(frozen=True)
class Command:
    key: str
    label: str
    argv: list[str]
    cwd: Path
    env: dict[str, str]
    timeout: float
    summarize: Callable[[str, str], str]  # (stdout, stderr) -> one line for the reader


@dataclass(frozen=True)
class Measurement:
    key: str
    label: str
    wall: float
    cpu: float
    rss_mb: float
    status: int
    timed_out: bool
    summary: str


@dataclass(frozen=True)
class Skipped:
    key: str
    label: str
    reason: str


Row = Measurement | Skipped


# --------------------------------------------------------------------------- measuring


def measure(command: Command) -> Measurement:
    """Run one command in its own process group; wall, CPU and peak RSS from os.wait4."""
    fired = threading.Event()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(
            command.argv,
            cwd=command.cwd,
            env=command.env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
            start_new_session=True,
        )
        timer = threading.Timer(command.timeout, _kill_group, (proc.pid, fired))
        timer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            timer.cancel()
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here; Popen must not wait
        stdout, stderr = _read(out), _read(err)
    summary = f"killed after {command.timeout:.0f} s" if fired.is_set() else ""
    summary = summary or command.summarize(stdout, stderr)
    return Measurement(
        key=command.key,
        label=command.label,
        wall=wall,
        cpu=usage.ru_utime + usage.ru_stime,
        rss_mb=usage.ru_maxrss / 1024,  # KiB on Linux
        status=proc.returncode,
        timed_out=fired.is_set(),
        summary=summary,
    )


def _kill_group(pid: int, fired: threading.Event) -> None:
    fired.set()
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)  # the group this harness started for that command


def _read(handle: IO[bytes]) -> str:
    handle.seek(0)
    return handle.read().decode("utf-8", "replace")


def _last_line(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    return lines[-1].strip() if lines else "(no output)"


# --------------------------------------------------------------------------- the commands


def venv_python() -> str:
    candidate = ROOT / ".venv" / "bin" / "python"
    return str(candidate) if candidate.exists() else sys.executable


@functools.cache
def tool_argv() -> list[str]:
    """The tool as users and pre-commit run it: installed from a wheel into a virtualenv of its
    own (an editable install's import hook adds start-up time no installed tool pays). Falls back
    to the development install when that cannot be built (no package index)."""
    installed = _install_tool()
    if installed is not None:
        return [installed]
    script = ROOT / ".venv" / "bin" / "celery-codemod"
    if script.exists():
        return [str(script)]
    found = shutil.which("celery-codemod")
    return [found] if found else [venv_python(), "-m", "codemods"]


def _install_tool() -> str | None:
    work = Path(tempfile.mkdtemp(prefix="celery-codemod-bench-"))
    atexit.register(shutil.rmtree, work, ignore_errors=True)
    source = work / "source"  # a copy: building in the checkout would leave build/ behind
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, source / name)
    shutil.copytree(
        ROOT / "codemods", source / "codemods", ignore=shutil.ignore_patterns("__pycache__")
    )
    venv = work / "venv"
    steps = [
        [venv_python(), "-m", "venv", str(venv)],
        [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", str(source)],
    ]
    for step in steps:
        if subprocess.run(step, capture_output=True, check=False).returncode != 0:
            print(f"note: could not install the tool ({' '.join(step[:4])}...); "
                  "measuring the development install", file=sys.stderr)  # fmt: skip
            return None
    return str(venv / "bin" / "celery-codemod")


def tool_has_jobs() -> bool:
    """Whether this version of the tool takes `--jobs` (it may come with a later issue)."""
    completed = subprocess.run(
        [*tool_argv(), "fix", "--help"], capture_output=True, text=True, check=False, cwd=ROOT
    )
    return "--jobs" in completed.stdout


def grep_summary(stdout: str, stderr: str) -> str:
    return f"{len(stdout.splitlines())} files match" + (f"; {_last_line(stderr)}" if stderr else "")


def libcst_summary(stdout: str, stderr: str) -> str:
    changed = sum(1 for line in stdout.splitlines() if line.startswith("+++ "))
    report = [
        line.strip(" -") for line in stderr.splitlines() if line.startswith(("Finished", " - "))
    ]
    return f"{changed} files in the diff; " + " ".join(report[-5:])


def tool_summary(stdout: str, stderr: str) -> str:
    return _last_line(stderr)


def commands(tree: Path, cache: Path, jobs: int, timeout: float) -> list[Command]:
    python, env = venv_python(), measured_environment()
    tool_env = {**env, "XDG_CACHE_HOME": str(cache)}
    libcst_env = {**env, "PYTHONPATH": str(ROOT)}
    tool = [*tool_argv(), "fix", "--check", "."]
    tool_jobs = ""
    if tool_has_jobs():
        tool += ["--jobs", str(jobs)]
        tool_jobs = f", -j {jobs}"
    grep = ["git", "grep", "-l", "-e", "send_task", "-e", "task"]
    libcst = [
        python, "-m", "libcst.tool", "codemod", "-x", f"--jobs={jobs}", "--no-format",
        "--hide-progress", "--unified-diff=3", "benchmarks.libcst_baseline.AddOptions",
        f"--tasks={generate.manifest_path(tree)}", str(tree),
    ]  # fmt: skip
    floor = [python, str(BENCH / "floor.py"), str(tree)]
    precommit = [*tool_argv(), "fix", "--check", *precommit_files(tree)]
    return [
        Command("grep", "(a) git grep -l", grep, tree, env, timeout, grep_summary),
        Command("floor", "(b) floor: read + libcst-parse candidates", floor, tree, env, timeout,
                tool_summary),
        Command("libcst", f"(c) LibCST codemod, -j {jobs}", libcst, tree, libcst_env, timeout,
                libcst_summary),
        Command("cold", f"(d) celery-codemod cold{tool_jobs}", tool, tree, tool_env, timeout,
                tool_summary),
        Command("warm", f"(e) celery-codemod warm{tool_jobs}", tool, tree, tool_env, timeout,
                tool_summary),
        Command("precommit", f"(f) pre-commit: {PRECOMMIT_FILES} files named, warm", precommit,
                tree, tool_env, timeout, tool_summary),
    ]  # fmt: skip


def measured_environment() -> dict[str, str]:
    """This environment, with Python's bytecode cache on (as in an installed tool): without it
    every run compiles the tool's modules again."""
    return {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def precommit_files(tree: Path) -> list[str]:
    """The files a pre-commit hook would name: the first producers, as git lists them."""
    listed = subprocess.run(
        ["git", "grep", "-l", "-e", "send_task"], cwd=tree, capture_output=True, text=True,
        check=False,
    ).stdout.split()  # fmt: skip
    return sorted(listed)[:PRECOMMIT_FILES]


# --------------------------------------------------------------------------- one size


@dataclass(frozen=True)
class SizeResult:
    size: str
    manifest: generate.Manifest
    rows: list[Row]
    renames: list[RenameRow]

    def get(self, key: str) -> Measurement | None:
        return next((r for r in self.rows if isinstance(r, Measurement) and r.key == key), None)


def prepare_tree(size: str, keep: Path | None, seed: int) -> tuple[Path, generate.Manifest]:
    """Reuse the tree in `keep` when it was generated with this size and seed, else generate."""
    files = generate.SIZES[size]
    out = keep if keep is not None else generate.default_out(size)
    manifest = generate.load_manifest(out)
    if manifest is not None and manifest.counts.files == files and manifest.seed == seed:
        print(f"reusing {out}: {manifest.summary(out)}")
        return out, manifest
    # In a subprocess: the harness stays small, and a child's ru_maxrss starts from the
    # harness's RSS at exec time, so a harness holding the tree would inflate every row.
    argv = [sys.executable, str(BENCH / "generate.py"), "--files", str(files), "--seed", str(seed)]
    subprocess.run([*argv, "--out", str(out)], check=True)
    manifest = generate.load_manifest(out)
    if manifest is None:
        raise SystemExit(f"no manifest in {out}")
    return out, manifest


def check_clean(tree: Path) -> None:
    status = subprocess.run(
        ["git", "status", "--porcelain"], cwd=tree, capture_output=True, text=True, check=True
    ).stdout
    if status.strip():
        print(f"warning: {tree} has local changes; numbers may not match the manifest")


def run_size(size: str, args: argparse.Namespace) -> SizeResult:
    keep = args.keep if args.keep is None or len(args.sizes) == 1 else args.keep / size
    tree, manifest = prepare_tree(size, keep, args.seed)
    check_clean(tree)
    cache = Path(tempfile.mkdtemp(prefix="celery-bench-cache-"))
    rows: list[Row] = []
    renames: list[RenameRow] = []
    try:
        warm_page_cache(tree)
        for command in commands(tree, cache, args.jobs, args.timeout):
            reason = skip_reason(command.key, manifest, args)
            if reason:
                rows.append(Skipped(command.key, command.label, reason))
                print(f"  {command.label}: skipped ({reason})", flush=True)
                continue
            repeat = 1 if command.key == "libcst" else args.repeat
            rows.append(median_of(command, repeat, cache))
        if args.renames:
            renames = rename_runs(tree, cache, args.renames, args.timeout)
    finally:
        shutil.rmtree(cache, ignore_errors=True)
        if args.keep is None:
            shutil.rmtree(tree, ignore_errors=True)
    return SizeResult(size, manifest, rows, renames)


@dataclass(frozen=True)
class RenameRow:
    cycle: int
    folder: str
    warm: Measurement
    rows: dict[str, int]


def rename_runs(tree: Path, cache: Path, count: int, timeout: float) -> list[RenameRow]:
    """Rename the largest top folder `count` times (committed); a warm run after each."""
    env = {**measured_environment(), "XDG_CACHE_HOME": str(cache)}
    tool = [*tool_argv(), "fix", "--check", "."]
    folders = [p for p in tree.iterdir() if p.is_dir() and p.name != ".git"]
    original = max(folders, key=lambda p: sum(1 for _ in p.rglob("*.py"))).name
    current = original
    results = []
    print(f"  renaming {original}/ {count} times:", end="", flush=True)
    for cycle in range(count + 1):
        if cycle:
            target = f"{original}-{cycle}"
            _git_quiet(tree, "mv", current, target)
            _git_quiet(tree, "commit", "-q", "-m", f"rename {current} to {target}")
            current = target
        command = Command("warm", "warm", tool, tree, env, timeout, tool_summary)
        measure(command)  # reads the renamed files once
        warm = measure(command)
        info = subprocess.run(
            [*tool_argv(), "cache", "info", "--format", "json"], cwd=tree, env=env,
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        rows = json.loads(info.stdout).get("rows", {}) if info.returncode == 0 else {}
        results.append(RenameRow(cycle, current, warm, rows))
        print(f" {warm.rss_mb:.0f} MB", end="", flush=True)
    print(flush=True)
    if current != original:
        _git_quiet(tree, "mv", current, original)
        _git_quiet(tree, "commit", "-q", "-m", f"rename {current} back to {original}")
    return results


def _git_quiet(tree: Path, *args: str) -> None:
    env = {
        **os.environ, "GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "bench@example.com",
        "GIT_COMMITTER_NAME": "bench", "GIT_COMMITTER_EMAIL": "bench@example.com",
    }  # fmt: skip
    subprocess.run(["git", *args], cwd=tree, env=env, check=True, capture_output=True)


def print_renames(result: SizeResult) -> None:
    if not result.renames:
        return
    print(f"\n### Size {result.size}: warm runs after each rename (the cache must stay bounded)\n")
    print(
        "| renames | folder | warm wall s | warm peak RSS MB | "
        "rows: files / scans / edits / plain |"
    )
    print("|---:|---|---:|---:|---|")
    for row in result.renames:
        tables = ("files", "scans", "edits", "plain")
        counts = " / ".join(str(row.rows.get(t, "?")) for t in tables)
        print(
            f"| {row.cycle} | {row.folder} | {row.warm.wall:.2f} | {row.warm.rss_mb:.0f} | "
            f"{counts} |"
        )


def warm_page_cache(tree: Path) -> None:
    """Read every file once, untimed, so no row pays for the disk."""
    subprocess.run(
        ["git", "grep", "-c", "-e", "task"], cwd=tree, stdout=subprocess.DEVNULL, check=False
    )


def median_of(command: Command, repeat: int, cache: Path) -> Measurement:
    """The median (by wall time) of `repeat` runs; a cold run starts each time from an empty
    cache. On a shared machine the median is the figure to quote."""
    print(f"  {command.label} ...", end="", flush=True)
    runs = []
    for _ in range(repeat):
        if command.key == "cold":
            shutil.rmtree(cache, ignore_errors=True)
            cache.mkdir()
        runs.append(measure(command))
        print(f" {runs[-1].wall:.2f} s", end="", flush=True)
    print(flush=True)
    return sorted(runs, key=lambda run: run.wall)[len(runs) // 2]


def skip_reason(key: str, manifest: generate.Manifest, args: argparse.Namespace) -> str | None:
    if key != "libcst":
        return None
    if args.no_libcst:
        return "--no-libcst"
    if manifest.counts.files > LIBCST_MAX_FILES:
        return (
            f"{manifest.counts.files:,} files: a full LibCST pass would take most of an hour; "
            "the M row gives the ratio"
        )
    return None


# --------------------------------------------------------------------------- reporting


def _ratio(row: Measurement, cold: Measurement | None, attr: str) -> str:
    base = 0.0 if cold is None else getattr(cold, attr)
    if base <= 0:
        return "n/a"
    ratio = getattr(row, attr) / base
    return f"≥ {ratio:.3g}x" if row.timed_out else f"{ratio:.3g}x"


def print_table(result: SizeResult) -> None:
    counts = result.manifest.counts
    cold = result.get("cold")
    print(f"\n### Size {result.size}: {counts.files:,} files, {counts.lines:,} lines\n")
    print(
        "| comparator | wall s | CPU s | peak RSS MB | wall / tool cold | CPU / tool cold | exit |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|")
    for row in result.rows:
        if isinstance(row, Skipped):
            print(f"| {row.label} | skipped | | | | | |")
            continue
        wall = f"> {row.wall:.2f}" if row.timed_out else f"{row.wall:.2f}"
        print(
            f"| {row.label} | {wall} | {row.cpu:.2f} | {row.rss_mb:.0f} | "
            f"{_ratio(row, cold, 'wall')} | {_ratio(row, cold, 'cpu')} | "
            f"{'killed' if row.timed_out else row.status} |"
        )
    print()
    for row in result.rows:
        text = row.reason if isinstance(row, Skipped) else f"exit {row.status}: {row.summary}"
        print(f"- {row.label}: {text}")
    print(
        f"- expected (generator): {counts.calls_to_change} calls in {counts.files_to_change} "
        f"files would change, {len(result.manifest.tasks)} tasks, "
        f"{counts.unknown_calls} unknown names; the tool exits 1 under --check when calls change"
    )
    print_targets(result)


def _verdict(ok: bool) -> str:
    return "met" if ok else "NOT met"


def print_targets(result: SizeResult) -> None:
    grep, floor, libcst = result.get("grep"), result.get("floor"), result.get("libcst")
    cold, warm = result.get("cold"), result.get("warm")
    if cold is None:
        return
    print("\nTargets (shown, not enforced):")
    if libcst is not None:
        speedup = libcst.wall / cold.wall
        bound = "≥ " if libcst.timed_out else ""
        print(
            f"- cold tool ≥ {TARGET_VS_LIBCST:.0f}x faster than the LibCST codemod: "
            f"{bound}{speedup:.1f}x wall ({bound}{libcst.cpu / cold.cpu:.1f}x CPU), "
            f"{_verdict(speedup >= TARGET_VS_LIBCST)}"
        )
    if floor is not None:
        ratio = cold.wall / floor.wall
        print(
            f"- cold tool within {TARGET_VS_FLOOR}x of the floor: {ratio:.2f}x wall "
            f"({cold.cpu / floor.cpu:.2f}x CPU), {_verdict(ratio <= TARGET_VS_FLOOR)}"
        )
    if warm is not None and grep is not None:
        ratio, cpu = warm.wall / grep.wall, warm.cpu / grep.cpu
        print(
            f"- warm tool within {TARGET_WARM_VS_GREP:.0f}x of git grep: {ratio:.1f}x wall, "
            f"{cpu:.1f}x CPU, {_verdict(max(ratio, cpu) <= TARGET_WARM_VS_GREP)}"
        )
    precommit = result.get("precommit")
    if precommit is not None and grep is not None:
        bound = max(TARGET_PRECOMMIT_VS_GREP * grep.wall, TARGET_PRECOMMIT_S)
        cpu_bound = max(TARGET_PRECOMMIT_VS_GREP * grep.cpu, TARGET_PRECOMMIT_S)
        met = precommit.wall <= bound and precommit.cpu <= cpu_bound
        print(
            f"- pre-commit run within max({TARGET_PRECOMMIT_VS_GREP:.0f}x git grep, "
            f"{TARGET_PRECOMMIT_S} s) = {bound:.2f} s wall, {cpu_bound:.2f} s CPU: "
            f"{precommit.wall:.2f} s wall ({precommit.wall / grep.wall:.1f}x git grep), "
            f"{precommit.cpu:.2f} s CPU ({precommit.cpu / grep.cpu:.1f}x), {_verdict(met)}"
        )
    peak = max(r.rss_mb for r in (cold, warm) if r is not None)
    print(
        f"- tool peak RSS < {TARGET_RSS_MB:.0f} MB: {peak:.0f} MB, {_verdict(peak < TARGET_RSS_MB)}"
    )


def print_scaling(results: list[SizeResult]) -> None:
    print("\n### Scaling of celery-codemod (seconds per 1,000 files should stay flat)\n")
    print("| size | files | lines | cold s | cold s / 1k files | warm s | warm s / 1k files |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for result in results:
        files = result.manifest.counts.files
        cold, warm = result.get("cold"), result.get("warm")
        cells = []
        for row in (cold, warm):
            cells += (
                ["n/a", "n/a"]
                if row is None
                else [f"{row.wall:.2f}", f"{row.wall * 1000 / files:.3f}"]
            )
        lines = result.manifest.counts.lines
        print(f"| {result.size} | {files:,} | {lines:,} | {' | '.join(cells)} |")


def print_environment(jobs: int) -> None:
    version = subprocess.run(
        [venv_python(), "-c", "import importlib.metadata as m; print(m.version('libcst'))"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(
        f"python {platform.python_version()}, libcst {version or '?'}, {os.cpu_count()} CPUs, "
        f"load average {load}, --jobs {jobs}"
    )


# --------------------------------------------------------------------------- CLI


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=tuple(generate.SIZES), default="S")
    parser.add_argument("--sizes", help="comma-separated sizes, e.g. S,M,L (overrides --size)")
    parser.add_argument(
        "--jobs", type=int, default=os.cpu_count() or 1, help="for (c) and the tool"
    )
    parser.add_argument("--keep", type=Path, help="generate into DIR once and reuse it later")
    parser.add_argument("--seed", type=int, default=generate.DEFAULT_SEED)
    parser.add_argument("--timeout", type=float, default=1800.0, help="seconds per command")
    parser.add_argument("--no-libcst", action="store_true", help="skip the LibCST baseline")
    parser.add_argument(
        "--repeat", type=int, default=1, help="runs per row except (c); the median is shown"
    )
    parser.add_argument(
        "--renames", type=int, default=0, help="rename a folder N times, a warm run after each"
    )
    args = parser.parse_args(argv)
    sizes = (args.sizes or args.size).split(",")
    unknown = [s for s in sizes if s not in generate.SIZES]
    if unknown:
        parser.error(f"unknown size(s): {', '.join(unknown)}")
    args.sizes = sizes
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    print_environment(args.jobs)
    results = []
    for size in args.sizes:
        print(f"\nsize {size}:")
        results.append(run_size(size, args))
    for result in results:
        print_table(result)
        print_renames(result)
    if len(results) > 1:
        print_scaling(results)
    harness = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        "\nNotes: CPU is user + sys of the command and the children it waited for. Peak RSS is "
        "its largest single process and never reads below the harness's own peak, "
        f"{harness:.0f} MB (Linux starts a child's ru_maxrss at its parent's high-water mark). "
        "Other work on the machine inflates wall times, not CPU times: compare CPU when they "
        "disagree."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
