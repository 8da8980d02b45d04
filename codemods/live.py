"""The live registry: import the real worker app and export every task's effective name and options.

This is ground truth for what static reading cannot see (tasks made in loops, options computed at
import time). It imports and runs the project's code, so it is only done when asked
(`celery-codemod index --app pkg.module:app`), and in a child process: the project's code may call
`sys.exit()` or `os._exit()`, print to stdout or leave threads behind, and none of that may end
or garble this run.
"""

from __future__ import annotations

import importlib
import inspect
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from codemods.indexfile import IndexFileError, dump_index, load_index
from codemods.linking import TASK_OPTIONS, merge_tasks
from codemods.model import OptionValue, Signature, TaskDef, TaskIndex

# Attributes that are not options, or that every task has and nobody declares.
NOT_OPTIONS = frozenset({"Request", "Strategy", "backend", "request_stack", "abstract", "typing"})


class LiveAppError(Exception):
    """The app could not be imported or found; the message says why."""


@contextmanager
def _import_path(folders: Sequence[Path]) -> Iterator[None]:
    added = [str(f.resolve()) for f in (*folders, Path.cwd())]
    saved = list(sys.path)
    sys.path[:0] = added
    try:
        yield
    finally:
        sys.path[:] = saved


def load_app(spec: str, source_roots: Sequence[Path] = ()) -> Any:
    """The Celery app named by `pkg.module:attr` (attr defaults to `app`, then `celery`)."""
    module_name, _, attribute = spec.partition(":")
    with _import_path(source_roots):
        try:
            module = importlib.import_module(module_name)
        except SystemExit as stop:
            raise LiveAppError(
                f"importing {module_name!r} called sys.exit({stop.code!r})"
            ) from None
        except Exception as error:
            raise LiveAppError(
                f"cannot import {module_name!r}: {type(error).__name__}: {error}"
            ) from None
    for name in (attribute,) if attribute else ("app", "celery"):
        app = getattr(module, name, None)
        if app is not None and hasattr(app, "tasks") and hasattr(app, "send_task"):
            return app
    raise LiveAppError(f"{spec!r} does not name a Celery app")


def _probe() -> None:
    """A task body for reading Celery's defaults."""


def _defaults() -> dict[str, object]:
    """The value each option has when nobody sets it: a probe task's on a pristine app."""
    from celery import Celery

    pristine = Celery("celery-codemod-defaults", set_as_current=False)

    task = pristine.task(name="celery-codemod.probe")(_probe)
    return {option: getattr(task, option, None) for option in TASK_OPTIONS}


def _signature(run: Any) -> Signature | None:
    try:
        parameters = list(inspect.signature(run).parameters.values())
    except (TypeError, ValueError):
        return None
    kinds = inspect.Parameter
    positional = [
        p for p in parameters if p.kind in (kinds.POSITIONAL_ONLY, kinds.POSITIONAL_OR_KEYWORD)
    ]
    keyword_only = [p for p in parameters if p.kind is kinds.KEYWORD_ONLY]
    return Signature(
        positional=tuple(p.name for p in positional),
        required=sum(1 for p in positional if p.default is kinds.empty),
        varargs=any(p.kind is kinds.VAR_POSITIONAL for p in parameters),
        keyword_only=tuple(p.name for p in keyword_only),
        varkw=any(p.kind is kinds.VAR_KEYWORD for p in parameters),
        positional_only=sum(1 for p in positional if p.kind is kinds.POSITIONAL_ONLY),
        required_keyword_only=tuple(p.name for p in keyword_only if p.default is kinds.empty),
    )


def _where(task: Any) -> tuple[str, int]:
    target = getattr(task, "__wrapped__", None) or type(task)
    try:
        path = inspect.getsourcefile(target) or ""
        line = inspect.getsourcelines(target)[1]
    except (TypeError, OSError):
        return "", 0
    return os.path.relpath(path).replace(os.sep, "/"), line


def live_index(spec: str, source_roots: Sequence[Path] = ()) -> TaskIndex:
    """Every task the app registers (Celery's own `celery.*` excepted), as the index has them.

    The app is imported in a child process; what it prints goes to stderr. Raises LiveAppError
    when the import fails or ends the process.
    """
    with tempfile.TemporaryDirectory(prefix="celery-codemod-") as folder:
        answer = Path(folder) / "answer.json"
        command = [sys.executable, "-m", "codemods.live", spec, str(answer)]
        completed = subprocess.run(
            [*command, *map(str, source_roots)], capture_output=True, check=False
        )
        sys.stderr.write(completed.stdout.decode("utf-8", "replace"))
        sys.stderr.write(completed.stderr.decode("utf-8", "replace"))
        sys.stderr.flush()
        try:
            reply = json.loads(answer.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            raise LiveAppError(
                f"importing {spec.partition(':')[0]!r} ended the process (exit code "
                f"{completed.returncode}) before the registry could be read"
            ) from None
    if "error" in reply:
        raise LiveAppError(str(reply["error"]))
    try:
        return merge_tasks(load_index(json.dumps(reply["index"]), path="the live registry"))
    except IndexFileError as error:
        raise LiveAppError(str(error)) from None


def _registry_in_this_process(spec: str, source_roots: Sequence[Path]) -> TaskIndex:
    """What `live_index` reads, in the process that imports the app (the child)."""
    app = load_app(spec, source_roots)
    with _import_path(source_roots):
        app.loader.import_default_modules()
        registry = dict(app.tasks)
    defaults = _defaults()
    tasks = []
    for name, task in sorted(registry.items()):
        if name.startswith("celery."):
            continue
        options: dict[str, OptionValue] = {}
        for option in sorted(TASK_OPTIONS - NOT_OPTIONS):
            value = getattr(task, option, None)
            if isinstance(value, str | int | float | bool) and value != defaults.get(option):
                options[option] = value
        path, line = _where(task)
        tasks.append(TaskDef(name, path, line, options, (), _signature(task.run)))
    return merge_tasks(tasks)


def compare(static: TaskIndex, live: TaskIndex, options: Sequence[str]) -> list[str]:
    """Where the static index and the live registry differ, one line each."""
    defaults = _defaults()
    lines = []
    for name in sorted(set(live.tasks) - set(static.tasks)):
        lines.append(f"{name}: only in the live registry (the static index cannot see it)")
    for name in sorted(set(static.tasks) - set(live.tasks)):
        lines.append(f"{name}: only in the static index (the app does not register it)")
    for name in sorted(set(static.tasks) & set(live.tasks)):
        mine, theirs = static.tasks[name], live.tasks[name].options
        for option in options:
            default = defaults.get(option)
            ours, live_value = mine.options.get(option, default), theirs.get(option, default)
            if option in mine.unresolved_options:
                lines.append(
                    f"{name}: {option} cannot be read statically; the live registry has "
                    f"{live_value!r}"
                )
            elif ours != live_value:
                lines.append(
                    f"{name}: {option} is {ours!r} in the static index, {live_value!r} in the "
                    "live registry"
                )
    return lines


def _child(arguments: Sequence[str]) -> int:
    """`python -m codemods.live SPEC ANSWER [SOURCE_ROOT...]`: write the registry, or the error,
    as JSON into ANSWER. The app's output goes to stderr, so that nothing else needs stdout."""
    spec, answer, *roots = arguments
    sys.stdout = sys.stderr
    try:
        index = _registry_in_this_process(spec, [Path(r) for r in roots])
        reply: dict[str, object] = {"index": json.loads(dump_index(index))}
    except LiveAppError as error:
        reply = {"error": str(error)}
    except SystemExit as stop:
        reply = {"error": f"the app called sys.exit({stop.code!r}) while its tasks were loaded"}
    except Exception as error:
        reply = {
            "error": f"reading the registry of {spec!r} failed: {type(error).__name__}: {error}"
        }
    Path(answer).write_text(json.dumps(reply), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(_child(sys.argv[1:]))
