"""The live registry: import the real worker app and export every task's effective name and options.

This is ground truth for what static reading cannot see (tasks made in loops, options computed at
import time). It imports and runs the project's code, so it is only done when asked
(`celery-codemod index --app pkg.module:app`).
"""

from __future__ import annotations

import importlib
import inspect
import os
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

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
    """Every task the app registers (Celery's own `celery.*` excepted), as the index has them."""
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
