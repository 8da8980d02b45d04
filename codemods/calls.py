"""Pass 2, reading: find the calls that start a task by name and record what they pass.

A call site is `<any receiver>.send_task(NAME, ...)`
(https://docs.celeryq.dev/en/stable/reference/celery.html#celery.Celery.send_task). NAME is a string
literal or a module-level string constant; anything else is a dynamic name. What a call needs is
decided later against the index (plan.py), so this module needs no index and its output can be
cached by file content.
"""

from __future__ import annotations

import ast
import re

from codemods.astutil import ScopeTracker, final_name, literal_value, module_constants
from codemods.model import NOT_LITERAL, CallSite, MaybeValue, OptionValue

# Celery.send_task's parameters in order, so that positional arguments map to names.
SEND_TASK_PARAMETERS = (
    "name", "args", "kwargs", "countdown", "eta", "task_id", "producer", "connection", "router",
    "result_cls", "expires", "publisher", "link", "link_error", "add_to_parent", "group_id",
    "group_index", "retries", "chord", "reply_to", "time_limit", "soft_time_limit", "root_id",
    "parent_id", "route_name", "shadow", "chain", "task_type", "replaced_task_nesting",
)  # fmt: skip

# Final callee names that may start a task by name; the libcst edit counts the same calls.
CANDIDATE_CALLEES = frozenset({"send_task"})

IGNORE_COMMENT = re.compile(r"#\s*celery-codemod:\s*ignore(?:\[([^\]]*)\])?")


def parse_ignore(line_text: str) -> tuple[bool, frozenset[str]] | None:
    """The opt-out comment on a line: (everything?, codes and option names), or None."""
    match = IGNORE_COMMENT.search(line_text)
    if match is None:
        return None
    if match.group(1) is None:
        return True, frozenset()
    return False, frozenset(item.strip() for item in match.group(1).split(",") if item.strip())


def candidate_order(calls: list[ast.Call]) -> list[ast.Call]:
    """Calls in the order a pre-order walk of the concrete tree meets them (outer call first)."""
    return sorted(
        calls,
        key=lambda c: (c.lineno, c.col_offset, -(c.end_lineno or 0), -(c.end_col_offset or 0)),
    )


def scan_calls(tree: ast.Module, source_lines: list[str]) -> tuple[CallSite, ...]:
    reader = _CallReader(tree)
    reader.visit(tree)
    sites = []
    for ordinal, call in enumerate(candidate_order(list(reader.found))):
        site = reader.found[call]
        if site is None:
            continue
        line_text = source_lines[call.lineno - 1] if call.lineno <= len(source_lines) else ""
        ignore = parse_ignore(line_text)
        sites.append(
            CallSite(
                line=call.lineno,
                ordinal=ordinal,
                callee=site.callee,
                task=site.task,
                dynamic_reason=site.dynamic_reason,
                given=site.given,
                splat=site.splat,
                args_count=site.args_count,
                kwargs_keys=site.kwargs_keys,
                ignore_all=ignore is not None and ignore[0],
                ignored=ignore[1] if ignore is not None else frozenset(),
            )
        )
    return tuple(sites)


def _sequence_length(node: ast.expr | None) -> int | None:
    if node is None or (isinstance(node, ast.Constant) and node.value is None):
        return 0
    if isinstance(node, ast.List | ast.Tuple) and not any(
        isinstance(e, ast.Starred) for e in node.elts
    ):
        return len(node.elts)
    return None


def _dict_keys(node: ast.expr | None) -> tuple[str, ...] | None:
    if node is None or (isinstance(node, ast.Constant) and node.value is None):
        return ()
    if isinstance(node, ast.Dict):
        keys = []
        for key in node.keys:
            if not (isinstance(key, ast.Constant) and isinstance(key.value, str)):
                return None
            keys.append(key.value)
        return tuple(keys)
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == "dict"
        and not node.args
        and all(k.arg is not None for k in node.keywords)
    ):
        return tuple(k.arg for k in node.keywords if k.arg is not None)
    return None


class _CallReader(ScopeTracker):
    def __init__(self, tree: ast.Module) -> None:
        super().__init__()
        self.constants = module_constants(tree)
        # Every candidate call, in visiting order; None for a candidate that is not a task call.
        self.found: dict[ast.Call, CallSite | None] = {}

    def visit_Call(self, node: ast.Call) -> None:
        callee = final_name(node.func)
        if callee in CANDIDATE_CALLEES:
            self.found[node] = (
                self._send_task(node) if isinstance(node.func, ast.Attribute) else None
            )
        self.generic_visit(node)

    def _name(self, node: ast.expr) -> tuple[str | None, str]:
        value = literal_value(node)
        if isinstance(value, str):
            return value, ""
        if isinstance(node, ast.Name):
            if node.id in self.constants and not self.shadows(node.id):
                constant = self.constants[node.id]
                if isinstance(constant, str):
                    return constant, ""
                return None, f"the constant '{node.id}', which is not a string"
            if self.shadows(node.id):
                return None, f"the local name '{node.id}'"
            return None, f"the name '{node.id}', which is not a module-level string constant"
        if isinstance(node, ast.JoinedStr):
            return None, "an f-string"
        return None, f"the expression '{ast.unparse(node)}'"

    def _send_task(self, node: ast.Call) -> CallSite:
        given: dict[str, MaybeValue] = {}
        values: dict[str, ast.expr] = {}
        splat = ""
        for position, arg in enumerate(node.args):
            if isinstance(arg, ast.Starred):
                splat = f"*{ast.unparse(arg.value)}"
                break
            if position < len(SEND_TASK_PARAMETERS):
                values[SEND_TASK_PARAMETERS[position]] = arg
        for keyword in node.keywords:
            if keyword.arg is None:
                splat = splat or f"**{ast.unparse(keyword.value)}"
            else:
                values[keyword.arg] = keyword.value
        for name, value in values.items():
            if name not in ("name", "args", "kwargs"):
                given[name] = self._value(value)
        task, reason = (
            (None, "no task name") if "name" not in values else self._name(values["name"])
        )
        args_count = _sequence_length(values.get("args"))
        kwargs_keys = _dict_keys(values.get("kwargs"))
        if splat:
            args_count, kwargs_keys = None, None
        return CallSite(
            line=node.lineno,
            ordinal=-1,
            callee="send_task",
            task=task,
            dynamic_reason=reason,
            given=given,
            splat=splat,
            args_count=args_count,
            kwargs_keys=kwargs_keys,
        )

    def _value(self, node: ast.expr) -> MaybeValue:
        value: OptionValue | object = literal_value(node)
        if (
            value is NOT_LITERAL
            and isinstance(node, ast.Name)
            and node.id in self.constants
            and not self.shadows(node.id)
        ):
            return self.constants[node.id]
        return value  # type: ignore[return-value]
