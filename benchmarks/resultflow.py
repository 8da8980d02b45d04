"""How the result flow grows with the code it follows: one table, milliseconds per size.

    python benchmarks/resultflow.py                     # every shape, 250 to 4,000
    python benchmarks/resultflow.py --sizes 250,1000 --shapes pipe,alias_chain

Each shape is one generated module whose size N is the number of task starts, aliases or canvas
members in it, written the way that makes a naive follower revisit work: a chain of N aliases,
N results bound to one module-level name read in N functions, a signature chain `a | a | ...`
and `chain(a, chain(a, ...))` N deep (through names), a group of N signatures, N results
collected and returned, N closures. Each cell is the milliseconds that
`ResultFlow(tree).scan(tree)` (what `results` reads) plus `scan_calls` (what `fix` reads) take
on the parsed tree, best of three. The last columns are the cost per start at the largest size
over the smallest measured (1.0 is linear), in time and in function calls (which the load of a
shared machine does not skew). "too deep": Python's recursion limit stops the follower (the
module then counts as starting any task and reading its result), or the parser (the scan
reports the file as too deeply nested).
"""

from __future__ import annotations

import argparse
import ast
import cProfile
import pstats
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from codemods.calls import scan_calls
from codemods.resultflow import ResultFlow
from codemods.rewrite import source_lines

SIZES = (250, 500, 1000, 2000, 4000)
HEAD = "from celery import chain, group\nfrom proj.tasks import add\nfrom proj.celery import app\n"


def alias_chain(n: int) -> str:
    lines = ["def f():", "    r0 = add.delay()"]
    lines += [f"    r{i} = r{i - 1}" for i in range(1, n)]
    lines.append(f"    return r{n - 1}.get()")
    return "\n".join(lines)


def shared_name(n: int) -> str:
    body = [f"r = add.delay({i})" for i in range(n)]
    body += [f"def read{i}():\n    return r.get()" for i in range(n)]
    return "\n".join(body)


def pipe(n: int) -> str:
    return "def f():\n    (" + " | ".join("add.s()" for _ in range(n)) + ").delay().get()"


def nested_chains(n: int) -> str:
    # Nested through names: Python parses at most 200 nested parentheses.
    lines = ["def f():", "    c0 = add.s()"]
    lines += [f"    c{i} = chain(add.s(), c{i - 1})" for i in range(1, n)]
    lines.append(f"    c{n - 1}.delay()")
    return "\n".join(lines)


def group_list(n: int) -> str:
    members = ", ".join(f"add.s({i})" for i in range(n))
    return f"def f():\n    return group([{members}]).delay().get()"


def collected(n: int) -> str:
    lines = ["def f():", "    results = []"]
    lines += [f"    results.append(app.send_task('proj.tasks.add', args=[{i}]))" for i in range(n)]
    lines.append("    return results")
    return "\n".join(lines)


def closures(n: int) -> str:
    return "\n".join(
        f"def f{i}():\n    r = add.delay()\n    def g():\n        return r.state\n    return g"
        for i in range(n)
    )


SHAPES: dict[str, Callable[[int], str]] = {
    "alias_chain": alias_chain,
    "shared_name": shared_name,
    "pipe": pipe,
    "nested_chains": nested_chains,
    "group_list": group_list,
    "collected": collected,
    "closures": closures,
}


def measure(source: str) -> float | None:
    """Best of three, in seconds; None when the module is nested too deeply to follow (the scan
    then says any task may be started there and its result read)."""
    tree = ast.parse(source)
    lines = source_lines(source)
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        flow = ResultFlow(tree, "producer")
        facts = flow.scan(tree)
        scan_calls(tree, lines, module="producer", flow=flow)
        best = min(best, time.perf_counter() - start)
        if any(s.any_task and "too deeply" in s.dynamic for s in facts.starts):
            return None
    return best


def python_calls(source: str) -> int:
    """Function calls the follower makes (deterministic, unlike the clock on a shared machine)."""
    tree = ast.parse(source)
    lines = source_lines(source)
    profile = cProfile.Profile()
    profile.enable()
    flow = ResultFlow(tree, "producer")
    flow.scan(tree)
    scan_calls(tree, lines, module="producer", flow=flow)
    profile.disable()
    return int(pstats.Stats(profile).total_calls)  # type: ignore[attr-defined]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default=",".join(map(str, SIZES)))
    parser.add_argument("--shapes", default=",".join(SHAPES))
    options = parser.parse_args()
    sizes = [int(s) for s in options.sizes.split(",")]
    shapes = options.shapes.split(",")
    header = " | ".join(f"N={n:,}" for n in sizes)
    print(f"| shape | {header} | growth per start: time | function calls |")
    print("|---|" + "---:|" * len(sizes) + "---:|---:|")
    for name in shapes:
        cells = []
        times = []
        for n in sizes:
            try:
                seconds = measure(HEAD + SHAPES[name](n) + "\n")
            except (RecursionError, SyntaxError):  # a file the scan reports as too deeply nested
                seconds = None
            if seconds is None:
                cells.append("too deep")
                continue
            times.append((n, seconds))
            cells.append(f"{seconds * 1000:.1f}")
        growth = calls = ""
        if len(times) >= 2:
            (n0, t0), (n1, t1) = times[0], times[-1]
            growth = f"{(t1 / n1) / (t0 / n0):.2f}"
            c0 = python_calls(HEAD + SHAPES[name](n0) + "\n")
            c1 = python_calls(HEAD + SHAPES[name](n1) + "\n")
            calls = f"{(c1 / n1) / (c0 / n0):.2f}"
        print(f"| {name} | " + " | ".join(cells) + f" | {growth} | {calls} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
