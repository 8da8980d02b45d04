"""How much of the code a run could check, said in one warning when it is little.

A run that indexed no task while tasks are declared, or whose calls mostly name tasks it does not
know, checked little or nothing; exit 0 and a quiet summary would make it look clean. So the run
ends with one `incomplete-index` warning naming the likely fix: `--source-root` when the calls
name indexed tasks under other module names, `--workers` or `--index` when the declarations are
elsewhere or cannot be read.
"""

from __future__ import annotations

import os
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from codemods.model import CELERY_BUILTIN_PREFIX, Diagnostic, Severity, TaskDef, TaskIndex

# Index diagnostics that each stand for a declaration the index could not take.
NOT_INDEXED = {
    "unresolved-app": "whose app cannot be proved a Celery app",
    "unresolved-decorator": "with a decorator the index does not follow",
    "custom-task-names": "named by the app's own gen_task_name",
    "dynamic-name": "whose name cannot be read",
}
LIVE_INDEX = (
    "pass --index with the live registry (`celery-codemod index --app MODULE:APP -o tasks.json`)"
)
FIXES = {
    "unresolved-app": "point --workers at the code that creates the Celery app, or " + LIVE_INDEX,
    "unresolved-decorator": LIVE_INDEX,
    "custom-task-names": LIVE_INDEX,
    "dynamic-name": LIVE_INDEX,
}


@dataclass(frozen=True)
class Checked:
    """What the calls of a run named: how many calls had a static task name, and the names no
    indexed task has (one per call)."""

    calls: int
    unknown: tuple[str, ...]


def checked_calls(names: Iterable[str], index: TaskIndex) -> Checked:
    """`names`: the task name of each call whose name is known."""
    calls, unknown = 0, []
    for name in names:
        if name.startswith(CELERY_BUILTIN_PREFIX):
            continue
        calls += 1
        if index.get(name) is None and name not in index.conflicts:
            unknown.append(name)
    return Checked(calls, tuple(unknown))


def coverage_warning(
    index: TaskIndex, checked: Checked, *, where: str, loaded: int
) -> Diagnostic | None:
    """One warning when most declarations could not be indexed, or most calls name no indexed
    task; None when the run checked most of what it found. `loaded`: tasks from --index files."""
    missing = Counter(d.code for d in index.diagnostics if d.code in NOT_INDEXED)
    indexed = max(0, len(index) - loaded)
    declared = indexed + sum(missing.values())
    calls, unknown = checked.calls, checked.unknown
    message = None
    if calls and 2 * len(unknown) > calls:
        message = _misplaced(index, unknown, calls)
    if message is None and declared and 2 * indexed < declared:
        reasons = ", ".join(f"{n} {NOT_INDEXED[code]}" for code, n in missing.most_common())
        message = (
            f"only {indexed} of {declared} task declarations could be indexed ({reasons}), so "
            f"calls to the others cannot be checked: {FIXES[missing.most_common(1)[0][0]]}"
        )
    if message is None and calls and not declared and not loaded:
        message = (
            f"no task declaration was found, so none of the {calls} calls naming a task can be "
            "checked: point --workers at the worker code, or pass --index with its task index"
        )
    if message is None and calls and 2 * len(unknown) > calls:
        message = (
            f"{len(unknown)} of {calls} calls name no indexed task, so they cannot be checked: "
            "point --workers at the worker code (or pass --index), or check the module names "
            "with -v (--source-root)"
        )
    if message is None:
        return None
    return Diagnostic(where, 1, "incomplete-index", Severity.WARNING, message)


def _misplaced(index: TaskIndex, unknown: tuple[str, ...], calls: int) -> str | None:
    """When most unknown names are indexed tasks under a longer or shorter module name, the
    message that names the source root that would make them match."""
    by_tail: dict[str, list[TaskDef]] = defaultdict(list)
    for task in index.tasks.values():
        by_tail[task.name.rpartition(".")[2]].append(task)
    matched = []
    for name in unknown:
        for task in by_tail.get(name.rpartition(".")[2], ()):
            if task.name.endswith("." + name) or name.endswith("." + task.name):
                matched.append((name, task))
                break
    if 2 * len(matched) < len(unknown):
        return None
    roots = Counter(root for name, task in matched if (root := _root_for(name, task)))
    name, task = matched[0]
    fix = (
        f"pass --source-root {roots.most_common(1)[0][0]}"
        if roots
        else "pass --source-root for the folder the worker runs from"
    )
    return (
        f"{len(unknown)} of {calls} calls name no indexed task, and {len(matched)} of them are "
        f"indexed under another module name ('{name}' is indexed as '{task.name}'): module "
        f"names start in another folder than the calls assume; {fix}"
    )


def _root_for(name: str, task: TaskDef) -> str | None:
    """The folder that, as a source root, gives `task` (declared at `task.path`) the name
    `name`: the file's folder with the module's parts taken off."""
    module = name.rpartition(".")[0].split(".") if "." in name else []
    parts = task.path.split("/")
    stem = parts[-1].removesuffix(".py")
    folders = parts[:-1] if stem == "__init__" else [*parts[:-1], stem]
    if not module or len(folders) < len(module) or folders[-len(module) :] != module:
        return None
    root = "/".join(folders[: -len(module)])
    return os.path.normpath(root) if root else "."
