"""What a user would write instead of celery-codemod: a plain LibCST codemod command.

The task index is given, not computed: a user would paste it into the command as a dict of task
name -> options; here it comes from a JSON file of that dict (the generator's manifest), loaded
once per process, so the command does no indexing at all. Every file is parsed with libcst, which
is what `libcst.tool codemod` does whatever the command.

    python -m libcst.tool codemod -x -j 2 --no-format --unified-diff=3 \\
        benchmarks.libcst_baseline.AddOptions --tasks TASKS.json DIR
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from functools import cache
from typing import Any

import libcst as cst
from libcst.codemod import CodemodContext, VisitorBasedCodemodCommand

# Options that make send_task behave as apply_async, in the order they are added.
PARITY = (
    "ignore_result", "serializer", "compression", "queue", "routing_key", "exchange",
    "priority", "expires", "delivery_mode",
)  # fmt: skip
NO_SPACE = cst.SimpleWhitespace("")


@cache
def load_tasks(path: str) -> dict[str, dict[str, Any]]:
    """Task name -> declared options: `{"tasks": {...}}` (a generator manifest) or the bare dict."""
    with open(path, encoding="utf-8") as handle:
        data = json.load(handle)
    tasks: dict[str, dict[str, Any]] = data.get("tasks", data)
    return tasks


def _string(node: cst.BaseExpression) -> str | None:
    if isinstance(node, cst.SimpleString):
        value = node.evaluated_value
        return value if isinstance(value, str) else None
    return None


def _keyword(name: str, value: Any) -> cst.Arg:
    text = json.dumps(value) if isinstance(value, str) else repr(value)
    return cst.Arg(
        value=cst.parse_expression(text),
        keyword=cst.Name(name),
        equal=cst.AssignEqual(whitespace_before=NO_SPACE, whitespace_after=NO_SPACE),
    )


class AddOptions(VisitorBasedCodemodCommand):
    DESCRIPTION = "Add to each send_task call the options its task declares and the call lacks."

    @staticmethod
    def add_args(arg_parser: argparse.ArgumentParser) -> None:
        arg_parser.add_argument(
            "--tasks", dest="tasks_file", required=True, help="JSON: task name -> options"
        )

    def __init__(self, context: CodemodContext, tasks_file: str) -> None:
        super().__init__(context)
        self.tasks = load_tasks(tasks_file)
        self.constants: dict[str, str] = {}

    def visit_Module(self, node: cst.Module) -> None:
        """Collect module-level `NAME = "task.name"` constants."""
        self.constants = {}
        for statement in node.body:
            if not isinstance(statement, cst.SimpleStatementLine):
                continue
            for small in statement.body:
                if (
                    isinstance(small, cst.Assign)
                    and len(small.targets) == 1
                    and isinstance(small.targets[0].target, cst.Name)
                    and (value := _string(small.value)) is not None
                ):
                    self.constants[small.targets[0].target.value] = value

    def _task_name(self, call: cst.Call) -> str | None:
        for arg in call.args:
            if (arg.keyword is None and arg is call.args[0]) or (
                arg.keyword is not None and arg.keyword.value == "name"
            ):
                if isinstance(arg.value, cst.Name):
                    return self.constants.get(arg.value.value)
                return _string(arg.value)
        return None

    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.BaseExpression:
        func = updated_node.func
        if not (isinstance(func, cst.Attribute) and func.attr.value == "send_task"):
            return updated_node
        if any(arg.star for arg in updated_node.args):
            return updated_node
        name = self._task_name(updated_node)
        if name is None:
            return updated_node
        options = self.tasks.get(name)
        if options is None:
            self.warn(f"unknown task {name!r}")
            return updated_node
        present = {arg.keyword.value for arg in updated_node.args if arg.keyword is not None}
        missing = [_keyword(k, options[k]) for k in PARITY if k in options and k not in present]
        if not missing:
            return updated_node
        return updated_node.with_changes(args=_append(updated_node.args, missing))


def _append(args: Sequence[cst.Arg], new: list[cst.Arg]) -> list[cst.Arg]:
    """Append keywords; in a one-argument-a-line call with a trailing comma, keep that layout."""
    last = args[-1] if args else None
    if last is None or len(args) < 2 or not isinstance(last.comma, cst.Comma):
        return [*args, *new]
    between, trailing = args[-2].comma, last.comma
    spaced = [arg.with_changes(comma=between) for arg in (last, *new[:-1])]
    return [*args[:-1], *spaced, new[-1].with_changes(comma=trailing)]
