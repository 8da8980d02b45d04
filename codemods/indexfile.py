"""The task index as JSON: the contract between a worker repository and a producer repository."""

from __future__ import annotations

import json
import math
from typing import Any

from codemods import __version__
from codemods.model import OptionValue, Signature, TaskDef, TaskIndex

INDEX_VERSION = 1


class IndexFileError(Exception):
    """An index file that cannot be used; the message names the file and the cause."""


def index_document(index: TaskIndex) -> dict[str, Any]:
    return {
        "version": INDEX_VERSION,
        "tool": f"celery-codemod {__version__}",
        "tasks": [_task_json(index.tasks[name]) for name in sorted(index.tasks)],
    }


def dump_index(index: TaskIndex) -> str:
    return json.dumps(index_document(index), indent=2, allow_nan=False) + "\n"


def _copyable(value: OptionValue) -> bool:
    """JSON has no NaN or infinity (and no call could be given them as a literal); Python reads
    no integer of more than 4,300 digits back."""
    if isinstance(value, float):
        return math.isfinite(value)
    return not isinstance(value, int) or value.bit_length() < 14_000


def _task_json(task: TaskDef) -> dict[str, Any]:
    options = {k: v for k, v in task.options.items() if _copyable(v)}
    unresolved = [*task.unresolved_options, *(k for k in task.options if k not in options)]
    data: dict[str, Any] = {
        "name": task.name,
        "path": task.path,
        "line": task.line,
        "options": options,
        "unresolved_options": unresolved,
    }
    if task.signature is not None:
        sig = task.signature
        data["signature"] = {
            "positional": list(sig.positional),
            "required": sig.required,
            "varargs": sig.varargs,
            "keyword_only": list(sig.keyword_only),
            "varkw": sig.varkw,
            "positional_only": sig.positional_only,
            "required_keyword_only": list(sig.required_keyword_only),
        }
    return data


class _NotFinite(ValueError):
    pass


def _reject_constant(name: str) -> float:
    raise _NotFinite(f"{name} is not a JSON number")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _NotFinite(f"{text} is too large for a number")
    return value


def load_index(text: str, *, path: str) -> tuple[TaskDef, ...]:
    """Tasks from an index file's text. Raises IndexFileError naming `path` and the cause."""
    try:
        document = json.loads(
            text.removeprefix("\ufeff"), parse_constant=_reject_constant, parse_float=_finite
        )
    except json.JSONDecodeError as error:
        raise IndexFileError(f"{path}: not valid JSON ({error})") from None
    except _NotFinite as error:
        raise IndexFileError(f"{path}: not valid JSON ({error})") from None
    except ValueError as error:  # an integer of thousands of digits
        reason = str(error).split(";")[0]
        raise IndexFileError(f"{path}: not usable JSON ({reason})") from None
    except RecursionError:
        raise IndexFileError(f"{path}: not usable JSON (nested too deeply)") from None
    if not isinstance(document, dict):
        raise IndexFileError(f"{path}: expected a JSON object with 'version' and 'tasks'")
    version = document.get("version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise IndexFileError(f"{path}: missing or invalid 'version'")
    if version > INDEX_VERSION:
        raise IndexFileError(
            f"{path}: index version {version} is newer than this tool reads ({INDEX_VERSION}); "
            "upgrade celery-codemod"
        )
    tasks = document.get("tasks")
    if not isinstance(tasks, list):
        raise IndexFileError(f"{path}: 'tasks' must be a list")
    return tuple(_task_from_json(entry, path, i) for i, entry in enumerate(tasks))


def _expect(condition: bool, path: str, position: int, what: str) -> None:
    if not condition:
        raise IndexFileError(f"{path}: task #{position + 1}: {what}")


def _strings(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def _is_literal(value: Any) -> bool:
    return value is None or isinstance(value, str | int | float | bool)


def _task_from_json(entry: Any, path: str, i: int) -> TaskDef:
    _expect(isinstance(entry, dict), path, i, "expected an object")
    name, task_path, line = entry.get("name"), entry.get("path", ""), entry.get("line", 0)
    _expect(isinstance(name, str) and bool(name), path, i, "'name' must be a non-empty string")
    _expect(isinstance(task_path, str), path, i, "'path' must be a string")
    _expect(isinstance(line, int) and not isinstance(line, bool), path, i, "'line' must be an int")
    options = entry.get("options", {})
    _expect(
        isinstance(options, dict) and all(_is_literal(v) for v in options.values()),
        path,
        i,
        "'options' must map names to literal values",
    )
    unresolved = entry.get("unresolved_options", [])
    _expect(_strings(unresolved), path, i, "'unresolved_options' must be a list of strings")
    signature = entry.get("signature")
    return TaskDef(
        name=name,
        path=task_path,
        line=line,
        options=dict[str, OptionValue](options),
        unresolved_options=tuple(unresolved),
        signature=None if signature is None else _signature_from_json(signature, path, i),
    )


def _signature_from_json(data: Any, path: str, i: int) -> Signature:
    _expect(isinstance(data, dict), path, i, "'signature' must be an object")
    positional = data.get("positional", [])
    keyword_only = data.get("keyword_only", [])
    required_kw = data.get("required_keyword_only", [])
    required = data.get("required", 0)
    positional_only = data.get("positional_only", 0)
    _expect(
        _strings(positional) and _strings(keyword_only) and _strings(required_kw),
        path,
        i,
        "signature name lists must be lists of strings",
    )
    _expect(
        isinstance(required, int) and isinstance(positional_only, int),
        path,
        i,
        "signature counts must be ints",
    )
    return Signature(
        positional=tuple(positional),
        required=required,
        varargs=bool(data.get("varargs", False)),
        keyword_only=tuple(keyword_only),
        varkw=bool(data.get("varkw", False)),
        positional_only=positional_only,
        required_keyword_only=tuple(required_kw),
    )
