"""Pass 2, reading: find what starts a task by name, and record what it passes.

- `<any receiver>.send_task(NAME, ...)`, a local alias of it (`send = app.send_task; send(...)`) and
  `functools.partial(app.send_task, NAME, ...)`
  (https://docs.celeryq.dev/en/stable/reference/celery.html#celery.Celery.send_task);
- name-based signatures: `signature(NAME, ...)`, `celery.signature`, `app.signature`,
  `Signature(NAME, ...)`, `subtask`, wherever they stand (in `chain`, `group`, `chord`, `link=`);
- beat-schedule entries: dict literals with a `"task"` and a `"schedule"` key.

NAME is read as written (a literal, a constant, an f-string of constants); it is looked up later
against the index (plan.py), so this module needs no index and its output can be cached by file
content. Whether a call's result may be read is resultflow.py's answer.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Collection
from dataclasses import replace

from codemods.astutil import dotted_name, final_name, literal_value
from codemods.model import NOT_LITERAL, CallSite, DictExpr, ScannedCalls, ValueExpr
from codemods.receivers import ReceiverReader
from codemods.resultflow import ResultFlow, may_read
from codemods.schedules import Positions, positions
from codemods.symbols import ModuleReader

# Celery.send_task's parameters in order, so that positional arguments map to names.
SEND_TASK_PARAMETERS = (
    "name", "args", "kwargs", "countdown", "eta", "task_id", "producer", "connection", "router",
    "result_cls", "expires", "publisher", "link", "link_error", "add_to_parent", "group_id",
    "group_index", "retries", "chord", "reply_to", "time_limit", "soft_time_limit", "root_id",
    "parent_id", "route_name", "shadow", "chain", "task_type", "replaced_task_nesting",
)  # fmt: skip
# celery.canvas.Signature's parameters; any other keyword is merged into its options.
SIGNATURE_PARAMETERS = (
    "task", "args", "kwargs", "options", "type", "subtask_type", "immutable", "app",
)  # fmt: skip
CELERY_SIGNATURES = frozenset(
    {"celery.signature", "celery.subtask", "celery.Signature", "celery.canvas.signature",
     "celery.canvas.subtask", "celery.canvas.Signature"}
)  # fmt: skip
SIGNATURE_METHODS = frozenset({"signature", "subtask", "Signature"})
PARTIAL = "functools.partial"
# Final callee names that can start a task by name; aliases of send_task are added per file.
BASE_CALLEES = frozenset({"send_task", "partial", *SIGNATURE_METHODS})

IGNORE_COMMENT = re.compile(r"#\s*celery-codemod:\s*ignore(?:\[([^\]]*)\])?")


def comment_of(line_text: str) -> str:
    """The comment on a line of code: from the first `#` outside a string literal."""
    quote = ""
    i = 0
    while i < len(line_text):
        char = line_text[i]
        if quote:
            if char == "\\":
                i += 1
            elif line_text.startswith(quote, i):
                i += len(quote) - 1
                quote = ""
        elif char == "#":
            return line_text[i:]
        elif char in "'\"":
            quote = char * 3 if line_text.startswith(char * 3, i) else char
            i += len(quote) - 1
        i += 1
    return ""


def parse_ignore(line_text: str) -> tuple[bool, frozenset[str]] | None:
    """The opt-out comment on a line: (everything?, codes and option names), or None."""
    match = IGNORE_COMMENT.search(line_text)
    if match is not None:  # the text is there; is it in a comment or in a string?
        match = IGNORE_COMMENT.search(comment_of(line_text))
    if match is None:
        return None
    if match.group(1) is None:
        return True, frozenset()
    return False, frozenset(item.strip() for item in match.group(1).split(",") if item.strip())


def source_order(nodes: list[ast.expr]) -> list[ast.expr]:
    """Nodes in the order a pre-order walk of the concrete tree meets them (outer first)."""
    return sorted(
        nodes,
        key=lambda c: (c.lineno, c.col_offset, -(c.end_lineno or 0), -(c.end_col_offset or 0)),
    )


def has_task_key(node: ast.Dict) -> bool:
    return any(isinstance(k, ast.Constant) and k.value == "task" for k in node.keys)


def candidate_nodes(tree: ast.AST, callees: Collection[str]) -> dict[str, list[ast.expr]]:
    """The nodes the edit counts, by ordinal space: calls to `callees`, dicts with a "task" key."""
    calls: list[ast.expr] = []
    dicts: list[ast.expr] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and final_name(node.func) in callees:
            calls.append(node)
        elif isinstance(node, ast.Dict) and has_task_key(node):
            dicts.append(node)
    return {"call": source_order(calls), "dict": source_order(dicts)}


def scan_calls(
    tree: ast.Module,
    source_lines: list[str],
    *,
    module: str = "",
    is_package: bool = False,
    flow: ResultFlow | None = None,
) -> ScannedCalls:
    """The file's call sites. `flow`, when given, is the module's result flow, already read."""
    reader = _CallReader(tree, module, is_package)
    reader.visit(tree)
    callees = BASE_CALLEES | reader.aliases_used
    calls = source_order([c for c in reader.calls if final_name(c.func) in callees])
    dicts = source_order(list(reader.beat_entries))
    sites: list[CallSite] = []
    where: Positions | None = None
    for space in (calls, dicts):
        for ordinal, node in enumerate(space):
            site = reader.sites.get(node)
            if site is None:
                continue
            if site.kind in ("beat", "signature"):
                where = where or positions(tree)
                site = _placed(site, node, where)
            line_text = source_lines[site.line - 1] if site.line <= len(source_lines) else ""
            ignore = parse_ignore(line_text)
            if site.kind != "beat" and flow is None:
                flow = ResultFlow(tree, module, is_package)
            sites.append(
                replace(
                    site,
                    ordinal=ordinal,
                    result_read=site.kind != "beat" and _result_may_be_read(flow, site, node),
                    ignore_all=ignore is not None and ignore[0],
                    ignored=ignore[1] if ignore is not None else frozenset(),
                )
            )
    lines = {"call": tuple(c.lineno for c in calls), "dict": tuple(d.lineno for d in dicts)}
    return ScannedCalls(tuple(sorted(sites, key=lambda s: (s.line, s.kind))), callees, lines)


def _placed(site: CallSite, node: ast.expr, where: Positions) -> CallSite:
    """A beat entry or signature as its position makes it (schedules.py)."""
    if site.kind == "signature":  # applied with more arguments, unless beat runs it as it is
        return replace(site, complete_args=id(node) in where.periodic)
    assert isinstance(node, ast.Dict)
    spelled = any(isinstance(k, ast.Constant) and k.value in ("args", "kwargs") for k in node.keys)
    return replace(
        site,
        complete_args=spelled or id(node) in where.scheduled,
        compared=id(node) in where.compared,
    )


def _result_may_be_read(flow: ResultFlow | None, site: CallSite, node: ast.expr) -> bool:
    """Whether the result of what `node` starts may be read: then ignore_result must stay off.

    send_task returns the result; a signature or a partial starts the task when applied, and
    its result is followed from there (a chord header's result is always read)."""
    assert flow is not None
    try:
        if site.kind == "send_task":
            return may_read(flow.result_uses(node))
        return may_read(flow.signature_uses(node))
    except RecursionError:
        return True  # too deeply nested to follow: it may be read


def _data(node: ast.expr) -> bool:
    """A literal that cannot be a task name (`{"task": {...}, "schedule": ...}` is data)."""
    if isinstance(node, ast.Constant):
        return not isinstance(node.value, str)
    return isinstance(node, ast.Dict | ast.List | ast.Tuple | ast.Set | ast.DictComp | ast.ListComp)


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


class _CallReader(ModuleReader):
    def __init__(self, tree: ast.Module, module: str, is_package: bool) -> None:
        super().__init__(tree, module, is_package)
        self.calls: list[ast.Call] = []
        self.beat_entries: list[ast.Dict] = []
        self.sites: dict[ast.expr, CallSite] = {}
        self.aliases_used: frozenset[str] = frozenset()
        # Local names bound to `x.send_task`, per scope.
        self._aliases: dict[int, set[str]] = {}
        self._fstring_depth = 0
        self.receivers = ReceiverReader(module, self.qualified, self._scope_names)

    def _scope_key(self) -> int:
        return id(self._scopes[-1]) if self._scopes else 0

    # -- bookkeeping: aliases -------------------------------------------------------------------

    def visit_Assign(self, node: ast.Assign) -> None:
        if len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            value = node.value
            if isinstance(value, ast.Attribute) and value.attr == "send_task":
                self._aliases.setdefault(self._scope_key(), set()).add(node.targets[0].id)
        self.generic_visit(node)

    def _is_alias(self, name: str) -> bool:
        if name in self._aliases.get(self._scope_key(), ()):
            return True
        return name in self._aliases.get(0, ()) and not self.shadows(name)

    # -- candidates ----------------------------------------------------------------------------

    def visit_Dict(self, node: ast.Dict) -> None:
        keys = [k.value if isinstance(k, ast.Constant) else None for k in node.keys]
        if has_task_key(node):
            self.beat_entries.append(node)
            entry = node.values[keys.index("task")]
            if "schedule" in keys and not _data(entry):
                self.sites[node] = self._beat(node, dict(zip(keys, node.values, strict=True)))
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        self.calls.append(node)
        site = self._read_call(node)
        if site is not None:
            self.sites[node] = replace(site, in_fstring=self._fstring_depth > 0)
        self.generic_visit(node)

    def visit_JoinedStr(self, node: ast.JoinedStr) -> None:
        self._fstring_depth += 1
        self.generic_visit(node)
        self._fstring_depth -= 1

    def _read_call(self, node: ast.Call) -> CallSite | None:
        func = node.func
        if isinstance(func, ast.Attribute) and func.attr == "send_task":
            site = self._task_call(node, "send_task", node.args, SEND_TASK_PARAMETERS)
            return replace(site, receiver=self.receivers.receiver(func.value, self._scopes))
        if isinstance(func, ast.Name) and self._is_alias(func.id):
            self.aliases_used = self.aliases_used | {func.id}
            return self._task_call(node, "send_task", node.args, SEND_TASK_PARAMETERS)
        callee = final_name(func)
        if callee == "partial" and self.qualified(func) == PARTIAL and node.args:
            target = node.args[0]
            if isinstance(target, ast.Attribute) and target.attr == "send_task":
                site = self._task_call(node, "partial", node.args[1:], SEND_TASK_PARAMETERS)
                return replace(site, receiver=self.receivers.receiver(target.value, self._scopes))
            return None
        if callee in SIGNATURE_METHODS and self._is_celery_signature(func, node):
            site = self._task_call(node, "signature", node.args, SIGNATURE_PARAMETERS)
            certain = self.qualified(func) in CELERY_SIGNATURES or isinstance(
                literal_value(node.args[0]) if node.args else None, str
            )
            return site if certain else replace(site, tentative=True)
        return None

    def _is_celery_signature(self, func: ast.expr, node: ast.Call) -> bool:
        qualified = self.qualified(func)
        if qualified in CELERY_SIGNATURES:
            return True
        if not isinstance(func, ast.Attribute) or qualified is None:
            return False
        receiver = qualified.rsplit(".", 1)[0]
        root = dotted_name(func.value)
        # `inspect.signature(...)` is not Celery's; for an app object, the first argument decides.
        if (
            root is not None
            and root[0] in self.imports
            and receiver not in ("celery", "celery.canvas")
            and self.imports[root[0]].split(".")[0] in ("inspect", "typing", "funcsigs")
        ):
            return False
        name = node.args[0] if node.args else None
        return name is not None and self.value(name) is not NOT_LITERAL

    def _task_call(
        self,
        node: ast.Call,
        kind: str,
        positional: list[ast.expr],
        parameters: tuple[str, ...],
    ) -> CallSite:
        values: dict[str, ast.expr] = {}
        splat = ""
        for position, arg in enumerate(positional):
            if isinstance(arg, ast.Starred):
                splat = f"*{ast.unparse(arg.value)}"
                break
            if position < len(parameters):
                values[parameters[position]] = arg
        for keyword in node.keywords:
            if keyword.arg is None:
                splat = splat or f"**{ast.unparse(keyword.value)}"
            else:
                values[keyword.arg] = keyword.value
        name_key = parameters[0]
        structural = {name_key, "args", "kwargs"}
        target = "keywords"
        given: dict[str, ValueExpr] = {}
        if kind == "signature":
            structural |= set(SIGNATURE_PARAMETERS)
            options = values.get("options")
            if isinstance(options, ast.Dict):
                target = "options"
                for key, value in zip(options.keys, options.values, strict=True):
                    if isinstance(key, ast.Constant) and isinstance(key.value, str):
                        given[key.value] = self.value(value)
                    else:
                        splat = splat or f"**{ast.unparse(value)}"
            elif options is not None and not (
                isinstance(options, ast.Constant) and options.value is None
            ):
                splat = splat or f"options={ast.unparse(options)}"
        for name, value in values.items():
            if name not in structural:
                given[name] = self.value(value)
        task, reason = self._name(values.get(name_key))
        args_count = _sequence_length(values.get("args"))
        kwargs_keys = _dict_keys(values.get("kwargs"))
        if splat or kind == "partial":  # a partial's caller may pass args and kwargs later
            args_count, kwargs_keys = None, None
        return CallSite(
            line=node.lineno,
            ordinal=-1,
            kind=kind,
            task=task,
            dynamic_reason=reason,
            given=given,
            splat=splat,
            target=target,
            args_count=args_count,
            kwargs_keys=kwargs_keys,
        )

    def _beat(self, node: ast.Dict, entry: dict[object, ast.expr]) -> CallSite:
        options = entry.get("options")
        given: dict[str, ValueExpr] = {}
        splat = ""
        if None in entry:  # {"task": ..., **extra}: a new "options" key could replace extra's
            splat = f"**{ast.unparse(entry[None])}"
        if isinstance(options, ast.Dict):
            expr = self.value(options)
            if isinstance(expr, DictExpr):
                given = dict(expr.items)
            else:
                splat = f"options={ast.unparse(options)}"
        elif options is not None:
            splat = f"options={ast.unparse(options)}"
        task, reason = self._name(entry.get("task"))
        return CallSite(
            line=next(
                k.lineno for k in node.keys if isinstance(k, ast.Constant) and k.value == "task"
            ),
            ordinal=-1,
            kind="beat",
            task=task,
            dynamic_reason=reason,
            given=given,
            splat=splat,
            target="options",
            args_count=_sequence_length(entry.get("args")),
            kwargs_keys=_dict_keys(entry.get("kwargs")),
        )

    def _name(self, node: ast.expr | None) -> tuple[ValueExpr | None, str]:
        if node is None:
            return None, "missing"
        value = self.value(node)
        if value is not NOT_LITERAL:
            return value, ""
        if isinstance(node, ast.Name) and self.shadows(node.id):
            return None, f"the local name '{node.id}'"
        if isinstance(node, ast.JoinedStr):
            return None, "an f-string"
        return None, f"the expression '{ast.unparse(node)}'"
