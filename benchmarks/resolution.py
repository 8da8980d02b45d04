"""How name resolution grows with the import graph: one table, seconds per size.

    python benchmarks/resolution.py                    # every shape, 10 to 160 modules
    python benchmarks/resolution.py --sizes 10,40 --shapes star_ring,pkg_selfstar

Each shape is a generated tree (`build`): a worker declaring the task `real.task` (queue "q") and a
producer that sends it by a name imported through an import graph of the shape's kind, with the
name defined at the far end (`found`) or nowhere (`missing`). Every measurement runs the tool's
real pipeline (`codemods.run.collect`: discover, scan, link, plan, edit; no cache, one process) in
a fresh interpreter, under a timeout. Each cell is "seconds of `collect` (milliseconds of it spent
resolving: the symbol table's on-demand reads, linking the index and planning the calls)".
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SIZES = (10, 20, 40, 80, 160)
TIMEOUT = 120
HINT = "# a module the scan parses: it mentions a task\n"
WORKER = (
    "from celery import Celery\napp = Celery('proj')\n\n"
    "@app.task(name='real.task', queue='q')\ndef real(): pass\n"
)
Files = dict[str, str]


def _leaf(found: bool) -> str:
    return HINT + ("NAME = 'real.task'\n" if found else "OTHER = 'other.task'\n")


def _producer(*lines: str, sends: tuple[str, ...] = ("NAME",)) -> str:
    calls = "".join(f"    app.send_task({name})\n" for name in sends)
    imports = "".join(f"{line}\n" for line in lines)
    return f"from proj.celery import app\n{imports}\ndef go():\n{calls}"


def star_chain(n: int, found: bool) -> Files:
    files = {f"proj/g/m{i}.py": HINT + f"from .m{i + 1} import *\n" for i in range(n - 1)}
    files[f"proj/g/m{n - 1}.py"] = _leaf(found)
    files["producer.py"] = _producer("from proj.g.m0 import *")
    return files


def star_pkg_chain(n: int, found: bool) -> Files:
    files = {
        f"proj/g/p{i}/__init__.py": HINT + f"from proj.g.p{i + 1} import *\n" for i in range(n - 1)
    }
    files[f"proj/g/p{n - 1}/__init__.py"] = _leaf(found)
    files["producer.py"] = _producer("from proj.g.p0 import *")
    return files


def star_diamond(n: int, found: bool) -> Files:
    layers = max(1, n // 2)
    files = {}
    for layer in range(layers - 1):
        both = f"from .a{layer + 1} import *\nfrom .b{layer + 1} import *\n"
        files[f"proj/g/a{layer}.py"] = HINT + both
        files[f"proj/g/b{layer}.py"] = HINT + both
    files[f"proj/g/a{layers - 1}.py"] = _leaf(found)
    files[f"proj/g/b{layers - 1}.py"] = _leaf(found)
    files["producer.py"] = _producer("from proj.g.a0 import *")
    return files


def star_ring(n: int, found: bool) -> Files:
    files = {f"proj/g/m{i}.py": HINT + f"from .m{(i + 1) % n} import *\n" for i in range(n)}
    files[f"proj/g/m{n // 2}.py"] += _leaf(found)
    files["producer.py"] = _producer("from proj.g.m0 import *")
    return files


def star_mutual(n: int, found: bool) -> Files:
    files = {
        f"proj/g/m{i}.py": HINT + f"from .m{(i + 1) % n} import *\nfrom .m{(i - 1) % n} import *\n"
        for i in range(n)
    }
    files[f"proj/g/m{n // 2}.py"] += _leaf(found)
    files["producer.py"] = _producer("from proj.g.m0 import *")
    return files


def pkg_selfstar(n: int, found: bool) -> Files:
    """A package star-importing its own n submodules (Django split settings, models/)."""
    files = {"proj/g/__init__.py": HINT + "".join(f"from .s{i} import *\n" for i in range(n))}
    for i in range(n):
        files[f"proj/g/s{i}.py"] = HINT + f"VALUE_{i} = {i}\n"
    files[f"proj/g/s{n - 1}.py"] += _leaf(found)
    files["producer.py"] = _producer(
        "from proj.g import *", "from proj.g.s0 import MISSING", sends=("NAME", "MISSING")
    )
    return files


def wide_star(n: int, found: bool) -> Files:
    files = {"proj/g/all.py": HINT + "".join(f"from .s{i} import *\n" for i in range(n))}
    for i in range(n):
        files[f"proj/g/s{i}.py"] = HINT + f"VALUE_{i} = {i}\n"
    files[f"proj/g/s{n // 2}.py"] += _leaf(found)
    files["producer.py"] = _producer("from proj.g.all import *")
    return files


def import_chain(n: int, found: bool) -> Files:
    files = {f"proj/g/m{i}.py": HINT + f"from .m{i + 1} import NAME\n" for i in range(n - 1)}
    files[f"proj/g/m{n - 1}.py"] = _leaf(found)
    files["producer.py"] = _producer("from proj.g.m0 import NAME")
    return files


def hintless_chain(n: int, found: bool) -> Files:
    """An explicit re-export chain through modules the scan does not parse (no hint)."""
    files = {f"proj/g/m{i}.py": f"from .m{i + 1} import NAME\n" for i in range(n - 1)}
    files[f"proj/g/m{n - 1}.py"] = "NAME = 'real.task'\n" if found else "OTHER = 1\n"
    files["producer.py"] = _producer("from proj.g.m0 import NAME")
    return files


def const_chain(n: int, found: bool) -> Files:
    files = {
        f"proj/g/m{i}.py": HINT + f"from . import m{i + 1}\nNAME = m{i + 1}.NAME\n"
        for i in range(n - 1)
    }
    files[f"proj/g/m{n - 1}.py"] = _leaf(found)
    files["producer.py"] = _producer("from proj.g.m0 import NAME")
    return files


def alias_chain(n: int, found: bool) -> Files:
    lines = [HINT, "a0 = 'real.task'\n" if found else "a0 = make()\n"]
    lines += [f"a{i} = a{i - 1}\n" for i in range(1, n)]
    lines.append(f"NAME = a{n - 1}\n")
    return {
        "proj/g/aliases.py": "".join(lines),
        "producer.py": _producer("from proj.g.aliases import NAME"),
    }


def class_chain(n: int, found: bool) -> Files:
    files = {
        f"proj/g/m{i}.py": HINT + f"from . import m{i + 1}\nNames = m{i + 1}.Names\n"
        for i in range(n - 1)
    }
    value = "'real.task'" if found else "make()"
    files[f"proj/g/m{n - 1}.py"] = HINT + f"class Names:\n    NAME = {value}\n"
    files["producer.py"] = _producer("from proj.g.m0 import Names", sends=("Names.NAME",))
    return files


def enum_chain(n: int, found: bool) -> Files:
    files = class_chain(n, found)
    value = "'real.task'" if found else "make()"
    files[f"proj/g/m{n - 1}.py"] = (
        HINT + f"from enum import Enum\nclass Names(str, Enum):\n    NAME = {value}\n"
    )
    files["producer.py"] = _producer("from proj.g.m0 import Names", sends=("Names.NAME.value",))
    return files


def fstring_fanout(n: int, found: bool) -> Files:
    """n constants, each an f-string of 8 copies of the one before."""
    lines = [HINT, "import os\n", "A0 = 'real.task'\n" if found else "A0 = os.sep\n"]
    lines += [f"A{i} = f'" + f"{{A{i - 1}}}" * 8 + "'\n" for i in range(1, n)]
    lines.append(f"NAME = A{n - 1}\n")
    return {
        "proj/g/fan.py": "".join(lines),
        "producer.py": _producer("from proj.g.fan import NAME"),
    }


def unknown_tasks(n: int, found: bool) -> Files:
    """n modules: n/2 of 20 tasks, and n/2 of 20 calls to names no task has (or to those tasks,
    already complete); each unknown name gets suggestions."""
    files = {}
    for i in range(max(1, n // 2)):
        tasks = "".join(f"@app.task(queue='q')\ndef process_item_{j}(x): pass\n" for j in range(20))
        files[f"proj/jobs{i}.py"] = "from proj.celery import app\n" + tasks
        call = "process_item_{}', args=[1], queue='q'" if found else "handle_event_{}', args=[1]"
        calls = "".join(f"    app.send_task('proj.jobs{i}.{call.format(j)})\n" for j in range(20))
        files[f"producer{i}.py"] = "from proj.celery import app\n\ndef go():\n" + calls
    return files


SHAPES: dict[str, Callable[[int, bool], Files]] = {
    f.__name__: f
    for f in (
        star_chain,
        star_pkg_chain,
        star_diamond,
        star_ring,
        star_mutual,
        pkg_selfstar,
        wide_star,
        import_chain,
        hintless_chain,
        const_chain,
        alias_chain,
        class_chain,
        enum_chain,
        fstring_fanout,
        unknown_tasks,
    )
}


def build(shape: str, n: int, found: bool, root: Path) -> None:
    """Write one generated tree under `root`."""
    files = {"proj/__init__.py": "", "proj/g/__init__.py": "", "proj/celery.py": WORKER}
    files.update(SHAPES[shape](n, found))
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


MEASURE = """
import json, sys, time
from pathlib import Path
from codemods import run
from codemods.run import Settings, collect

spent = [0.0]

def timed(function):
    def wrapper(*args, **kwargs):
        start = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            spent[0] += time.perf_counter() - start
    return wrapper

# Resolution: the symbol table's on-demand reads, linking the index and planning the calls.
for name in ("_read_referenced_modules", "build_index", "plan_calls"):
    setattr(run, name, timed(getattr(run, name)))
root = Path(sys.argv[1])
start = time.perf_counter()
outcome = collect(Settings(paths=(root,), jobs=1))
seconds = time.perf_counter() - start
codes = sorted({d.code for d in outcome.report.diagnostics})
changed = sum(len(r.changes) for r in outcome.report.results)
print(json.dumps({"seconds": seconds, "resolution": spent[0], "changed": changed, "codes": codes}))
"""


def measure(shape: str, n: int, found: bool) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as folder:
        build(shape, n, found, Path(folder))
        try:
            done = subprocess.run(
                [sys.executable, "-c", MEASURE, folder],
                capture_output=True,
                text=True,
                timeout=TIMEOUT,
                cwd=folder,
                check=True,
            )
        except subprocess.TimeoutExpired:
            return {"seconds": None}
        result: dict[str, object] = json.loads(done.stdout)
        return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default=",".join(map(str, SIZES)))
    parser.add_argument("--shapes", default=",".join(SHAPES))
    options = parser.parse_args()
    sizes = [int(s) for s in options.sizes.split(",")]
    shapes = options.shapes.split(",")
    header = " | ".join(str(s) for s in sizes)
    print(f"| shape | name | {header} | at {sizes[-1]} |")
    print("|---|---|" + "---:|" * len(sizes) + "---|")
    for shape in shapes:
        for found in (True, False):
            cells = []
            last: dict[str, object] = {}
            for size in sizes:
                last = measure(shape, size, found)
                seconds, resolution = last["seconds"], last.get("resolution")
                if isinstance(seconds, float) and isinstance(resolution, float):
                    cells.append(f"{seconds:.2f} ({resolution * 1000:.0f})")
                else:
                    cells.append(f">{TIMEOUT}")
            if last.get("changed"):
                result = f"{last['changed']} call(s) changed"
            else:
                codes = [c for c in last.get("codes", []) if isinstance(c, str)]  # type: ignore[union-attr]
                result = ", ".join(codes) or "nothing to do"
            name = "found" if found else "missing"
            print(f"| {shape} | {name} | {' | '.join(cells)} | {result} |", flush=True)


if __name__ == "__main__":
    main()
