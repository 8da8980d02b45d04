"""Benchmark the source-root inference over generated worst cases; prints one table.

The inference (`codemods.layout.infer_layout`) is a pure function of the file paths and each
file's absolute imports, so the shapes are generated in memory:

- monorepo: N services that each have an `app` package importing `app.celery` (every import
  has N candidate folders; the one above the importer is found by walking up);
- outsiders: the same N services plus N tools outside them importing `app.celery` (no
  candidate above the importer, N candidates: ambiguous);
- deep: N/100 package chains 100 folders deep (paths near Linux's 4,096-byte limit), each
  folder with a module imported by its full name (names over 32 parts are no evidence);
- wide imports: one file importing N names, each landing on a file.

    python benchmarks/layout.py
    python benchmarks/layout.py --sizes 1000,4000,16000
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from codemods.layout import infer_layout

Shape = tuple[list[str], dict[str, list[str]]]


def monorepo(n: int) -> Shape:
    files, imports = [], {}
    for i in range(n):
        base = f"/repo/services/s{i}/app"
        files += [f"{base}/__init__.py", f"{base}/celery.py", f"{base}/tasks.py"]
        imports[f"{base}/tasks.py"] = ["app.celery.app", "app.celery"]
    return files, imports


def outsiders(n: int) -> Shape:
    files, imports = monorepo(n)
    for i in range(n):
        tool = f"/repo/tools/t{i}.py"
        files.append(tool)
        imports[tool] = ["app.celery.app", "app.celery"]
    return files, imports


def deep(n: int) -> Shape:
    files, imports = [], {}
    for chain in range(max(1, n // 100)):
        folder, dotted = f"/repo/c{chain}/p0", "p0"
        for i in range(100):
            files += [f"{folder}/__init__.py", f"{folder}/m{i}.py"]
            imports[f"{folder}/m{i}.py"] = [f"{dotted}.m{i}"]
            folder, dotted = f"{folder}/p{i + 1}", f"{dotted}.p{i + 1}"
    return files, imports


def wide_imports(n: int) -> Shape:
    files = [f"/repo/proj/m{i}.py" for i in range(n)] + ["/repo/proj/__init__.py", "/repo/x.py"]
    return files, {"/repo/x.py": [f"proj.m{i}" for i in range(n)]}


SHAPES: dict[str, Callable[[int], Shape]] = {
    "monorepo": monorepo,
    "outsiders": outsiders,
    "deep": deep,
    "wide imports": wide_imports,
}


def seconds(shape: Callable[[int], Shape], n: int) -> float:
    files, imports = shape(n)
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        infer_layout(files, imports, {})
        best = min(best, time.perf_counter() - start)
    return best


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,2000,4000,8000", help="comma-separated N")
    sizes = [int(s) for s in parser.parse_args(argv).sizes.split(",")]
    print("| shape | " + " | ".join(f"N={n:,}" for n in sizes) + " |")
    print("|---|" + "---:|" * len(sizes))
    for label, shape in SHAPES.items():
        cells = [f"{seconds(shape, n):.3f} s" for n in sizes]
        print(f"| {label} | " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
