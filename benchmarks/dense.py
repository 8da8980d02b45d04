"""What a rewrite costs on dense files: many calls, each with a large literal argument.

For each (calls, density) pair, one generated module holds `calls` send_task calls, each with an
`args` list of `density` integers (four blank lines apart), and `fix --check --no-cache` runs on
it in its own process. Every call needs an edit. The table gives the file size, wall seconds and
peak RSS (ru_maxrss, from os.wait4), and the seconds per call and per MB.

    python benchmarks/dense.py                          # calls 250,500,1000 x density 10,100,900
    python benchmarks/dense.py --calls 1000 --density 900
    python benchmarks/dense.py --calls 4000 --density 900   # about 11 MB: over --max-file-size
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

WORKER = (
    'from celery import Celery\napp = Celery("p")\n'
    '@app.task(queue="q", priority=3)\ndef add(*a): pass\n'
)


def generate(folder: Path, calls: int, density: int) -> Path:
    (folder / "proj").mkdir(parents=True)
    (folder / "proj" / "__init__.py").write_text("")
    (folder / "proj" / "celery.py").write_text(WORKER)
    numbers = ", ".join(str(i) for i in range(density))
    call = f'app.send_task("proj.celery.add", args=[{numbers}])\n\n\n\n\n'
    path = folder / "dense.py"
    path.write_text("from proj.celery import app\n\n" + call * calls)
    return path


def measure(argv: list[str], cwd: Path, timeout: float) -> tuple[float, float, int, str]:
    """(wall seconds, peak RSS MB, exit status, last line of stderr) of one run."""
    env = {**os.environ, "XDG_CACHE_HOME": str(cwd / ".cache"), "NO_COLOR": "1"}
    with tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(argv, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=err)
        timer = threading.Timer(timeout, proc.kill)
        timer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            timer.cancel()
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here; Popen must not wait
        err.seek(0)
        lines = err.read().decode(errors="replace").strip().splitlines()
    return wall, usage.ru_maxrss / 1024, proc.returncode, (lines or [""])[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", default="250,500,1000", help="comma-separated call counts")
    parser.add_argument("--density", default="10,100,900", help="comma-separated args lengths")
    parser.add_argument("--timeout", type=float, default=600.0)
    args = parser.parse_args()
    tool = shutil.which("celery-codemod") or str(Path(sys.executable).with_name("celery-codemod"))
    print("| calls | density | file MB | wall s | s / 1k calls | s / MB | peak RSS MB |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for density in (int(d) for d in args.density.split(",")):
        for calls in (int(c) for c in args.calls.split(",")):
            with tempfile.TemporaryDirectory() as folder:
                root = Path(folder)
                path = generate(root, calls, density)
                size = path.stat().st_size / 1e6
                argv = [tool, "fix", "--check", "--no-cache", "dense.py", "--workers", "proj"]
                wall, rss, status, last = measure(argv, root, args.timeout)
            note = "" if status == 1 and "would change" in last else f" ({last})"
            print(
                f"| {calls:,} | {density} | {size:.2f} | {wall:.1f} | {wall / calls * 1000:.2f} "
                f"| {wall / size:.1f} | {rss:.0f} |{note}",
                flush=True,
            )


if __name__ == "__main__":
    main()
