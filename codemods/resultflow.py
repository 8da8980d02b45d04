"""Where a task's result goes: dropped, read, passed on, or its id passed on.

Starting a task (`send_task`, `t.delay()`, `t.apply_async()`, a signature's `.delay()`,
`.apply_async()` or `()`) returns an `AsyncResult`
(https://docs.celeryq.dev/en/stable/reference/celery.result.html). Its stored result is needed only
where the caller reads it. This module follows each result the way Python binds names: through
assignments with any number of targets, the walrus operator, conditional and boolean expressions,
aliases, closures and lambdas, and module-level names read in functions. Bindings are followed
without regard to order or branches, so a name re-bound on one branch carries every value it may
hold. Signatures are followed into chains, groups and chords.

It is conservative by construction: a use it does not recognise counts as a read, and a result
that leaves what it can see (returned, yielded, stored on an object or at module level, collected,
passed to a call) "escapes", which callers treat as a possible read.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from codemods.astutil import (
    dotted_name,
    import_table,
    literal_value,
    resolve_relative,
)
from codemods.model import NOT_LITERAL, Concat, ResultFacts, ResultUse, TaskStart, ValueExpr
from codemods.symbols import qualify, read_value

# Evidence kinds (DESIGN.md, `results`).
DISCARDED = "discarded"
READ = "read"
CANVAS_READ = "canvas-read"
CHORD_HEADER = "chord-header"
RESULT_ESCAPES = "result-escapes"
ID_ESCAPES = "id-escapes"
READ_BY_ID = "read-by-id"
EXPLICIT_FALSE = "explicit-false"
DYNAMIC_CALL = "dynamic-call"
NO_CALLS = "no-calls"
# Uses after which `ignore_result=True` on the call would change what the caller gets.
MAY_READ = frozenset({READ, CANVAS_READ, CHORD_HEADER, RESULT_ESCAPES, READ_BY_ID})

# Uses kept per start and kind (see `_capped`).
MAX_USES_PER_KIND = 16
ID_ATTRIBUTES = frozenset({"id", "task_id"})
# AsyncResult attributes that do not need the stored result; any other attribute is a read.
NO_READ_ATTRIBUTES = frozenset(
    {"revoke", "revoke_by_stamped_headers", "forget", "ignored", "backend", "app", "as_tuple",
     "as_list", "supports_native_join"}
)  # fmt: skip
# Reads that reach a result's children (link callbacks are its children).
CHILD_READS = frozenset({"children", "collect", "iterdeps", "graph", "build_graph", "get_leaf"})
# Builtins that take a result without reading it; str() and repr() give its id.
INERT_BUILTINS = frozenset({"print", "isinstance", "id", "type", "hash", "bool", "callable"})
ID_BUILTINS = frozenset({"str", "repr", "format"})
# Calls that only log a value (an id that is logged is not handed to a poller).
LOG_METHODS = frozenset(
    {"debug", "info", "warning", "warn", "error", "exception", "critical", "log", "print"}
)
APPLY_METHODS = frozenset({"delay", "apply_async"})
SIGNATURE_METHODS = frozenset({"s", "si", "signature", "subtask"})
# Signature methods that return the signature itself or a changed copy.
SIGNATURE_RETURNING = frozenset({"set", "clone", "on_error", "replace"})
# Signature attributes that only inspect it.
SIGNATURE_INSPECTION = frozenset(
    {"options", "args", "kwargs", "task", "name", "type", "immutable", "subtask_type", "app",
     "set_immutable", "stamp", "keys", "items", "values", "get"}
)  # fmt: skip
CELERY_SIGNATURES = frozenset(
    {"celery.signature", "celery.subtask", "celery.Signature", "celery.canvas.signature",
     "celery.canvas.subtask", "celery.canvas.Signature"}
)  # fmt: skip
# What a called name is qualified to for `_start` to look further.
NAME_STARTERS = CELERY_SIGNATURES | {"functools.partial"}
CANVAS_KINDS = {
    f"{module}.{kind}": kind
    for module in ("celery", "celery.canvas")
    for kind in ("chain", "group", "chord")
}
RESULT_BY_ID = frozenset({"AsyncResult", "GroupResult", "result_from_tuple"})
# Stored results read by query, whatever task made them; `id_reads` marks them with QUERIED.
RESULT_STORE = "django_celery_results.models"
QUERIED = "*"
EAGER_SETTINGS = frozenset(
    {"task_always_eager", "CELERY_TASK_ALWAYS_EAGER", "CELERY_ALWAYS_EAGER", "always_eager"}
)
BACKEND_SETTINGS = frozenset(
    {"result_backend", "CELERY_RESULT_BACKEND", "CELERY_BACKEND", "backend"}
)
SETTING_NAMES = EAGER_SETTINGS | BACKEND_SETTINGS

_COMPREHENSIONS = (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)
_SCOPE_OPENERS = frozenset(
    {ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef, *_COMPREHENSIONS}
)
# Leaves nothing is asked about (contexts, operators, constants): `_walk` does not visit them.
_LEAVES = frozenset(
    {ast.Load, ast.Store, ast.Del, ast.Constant}
    | {cls for base in (ast.operator, ast.boolop, ast.cmpop, ast.unaryop)
       for cls in base.__subclasses__()}
)  # fmt: skip
# Nodes `_walk` looks at besides names and calls.
_NOTED = frozenset(
    {ast.Subscript, ast.Global, ast.Nonlocal, ast.Import, ast.ImportFrom, ast.ExceptHandler,
     ast.MatchAs, ast.MatchStar, ast.MatchMapping}
)  # fmt: skip
# Nodes that may set an eager or result-backend setting.
_SETTING_NODES = frozenset({ast.Assign, ast.keyword, ast.Dict})
# What `_walk` does with a node, by its type (absent: `_PLAIN`, only its children).
_PLAIN, _NAME, _OPENER, _CALL, _NOTED_ROLE, _SETTING = (
    "plain", "name", "opener", "call", "noted", "setting",
)  # fmt: skip
_ROLES: dict[type[ast.AST], str] = {
    ast.Name: _NAME,
    ast.Call: _CALL,
    **dict.fromkeys(_SCOPE_OPENERS, _OPENER),
    **dict.fromkeys(_NOTED, _NOTED_ROLE),
    **dict.fromkeys(_SETTING_NODES, _SETTING),
}
# Fields that never hold a node `_walk` visits (names, numbers, contexts, operators).
_PLAIN_FIELDS = frozenset(
    {"ctx", "op", "ops", "id", "attr", "arg", "asname", "type_comment", "level", "module",
     "is_async", "conversion", "simple", "kind", "tag", "lineno", "kwd_attrs", "rest"}
)  # fmt: skip
# Node types whose `name` (or `names`) is text.
_NAMED = (ast.ExceptHandler, ast.MatchAs, ast.MatchStar, ast.alias, ast.Global, ast.Nonlocal)
# The fields `_walk` visits, per node type (filled as types are met).
_CHILD_FIELDS: dict[type[ast.AST], tuple[str, ...]] = {}


def _child_fields(kind: type[ast.AST]) -> tuple[str, ...]:
    plain = _PLAIN_FIELDS | ({"name", "names"} if issubclass(kind, _NAMED) else set())
    return tuple(name for name in kind._fields if name not in plain)


# Attributes of a task object that start it or name it: the object itself is not passed on.
_USING_ATTRIBUTES = APPLY_METHODS | SIGNATURE_METHODS | {
    "apply", "AsyncResult", "name", "map", "starmap", "chunks",
}  # fmt: skip
_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)
_DISPLAYS = (ast.List, ast.Tuple, ast.Set, ast.Dict)

# A place a signature reaches: (role, use). Roles: "" (applied here), "canvas" (a member of a
# canvas whose result is read: every member is), "chord-header", "link" (a callback: read only
# through its parent's children), "eager" (applied in the caller).
Outcome = tuple[str, ResultUse]


def may_read(uses: Iterable[ResultUse]) -> bool:
    """Whether adding ignore_result=True to the call could change what its caller reads."""
    return any(use.kind in MAY_READ and not use.eager for use in uses)


@dataclass
class _Scope:
    node: ast.AST
    parent: _Scope | None
    bound: set[str] = field(default_factory=set)
    globals: set[str] = field(default_factory=set)
    nonlocals: set[str] = field(default_factory=set)
    # Values bound to a name here by `name = value` (None: bound some other way).
    values: dict[str, list[ast.expr | None]] = field(default_factory=lambda: defaultdict(list))
    # Names an import inside a function binds, and what they import (`from .tasks import add`).
    imports: dict[str, str] = field(default_factory=dict)

    @property
    def is_module(self) -> bool:
        return self.parent is None

    def bind(self, name: str, value: ast.expr | None) -> None:
        self.bound.add(name)
        self.values[name].append(value)


class ResultFlow:
    """One module's names, scopes and parents, read once; then the fate of any expression."""

    def __init__(self, tree: ast.Module, module: str = "", is_package: bool = False) -> None:
        self.module = module
        self.is_package = is_package
        self.imports = import_table(tree, module, is_package)
        self.module_scope = _Scope(tree, None)
        # id(node) -> (parent node, scope the node is evaluated in)
        self._info: dict[int, tuple[ast.AST | None, _Scope]] = {}
        self._loads: dict[str, list[ast.Name]] = defaultdict(list)
        self.calls: list[ast.Call] = []
        # Module-level functions with decorators: maybe tasks, whose objects may be passed on.
        self.decorated = {
            node.name
            for node in tree.body
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.decorator_list
        }
        # Subscripts of `.tasks`, and calls that may look a task up by a run-time name.
        self._walked_lookups: list[ast.Subscript | ast.Call] = []
        # Assignments, keywords and dict entries naming an eager or result-backend setting.
        self._settings: list[ast.Assign | ast.keyword | ast.Dict] = []
        # Names bound to `x.send_task` somewhere, and names an import inside a function binds.
        self._send_task_names: set[str] = set()
        self._local_imports: set[str] = set()
        self._walk(tree)
        self._resolved: dict[tuple[int, str], _Scope] = {}
        self._by_binding: dict[str, dict[int, list[ast.Name]]] = {}
        self._memo: dict[tuple[int, str, str], frozenset[ResultUse] | frozenset[Outcome]] = {}
        self._node_memo: dict[tuple[Any, ...], frozenset[Any]] = {}
        self._active: set[tuple[int, str, str]] = set()
        self._tainted = False
        # AsyncResult(...) calls reached by an id that flows from a start this module makes.
        self.attributed: set[int] = set()

    # -- reading the module once -----------------------------------------------------------------

    def _walk(self, tree: ast.Module) -> None:
        """One pass over the module: parents, scopes, bindings, loads, calls, settings. The
        common case (a node that opens no scope) is inlined: this is the flow's main cost."""
        info = self._info
        stack: list[tuple[ast.AST, ast.AST | None, _Scope]] = [(tree, None, self.module_scope)]
        pop, push = stack.pop, stack.append
        fields_of, roles, leaves = _CHILD_FIELDS, _ROLES, _LEAVES
        AST, Load = ast.AST, ast.Load
        loads = self._loads
        while stack:
            node, parent, scope = pop()
            info[id(node)] = (parent, scope)
            kind = type(node)
            role = roles.get(kind, _PLAIN)
            if role is _NAME:  # no child but its context
                if type(node.ctx) is Load:  # type: ignore[attr-defined]
                    loads[node.id].append(node)  # type: ignore[attr-defined, arg-type]
                else:
                    self._store(node, parent, scope)  # type: ignore[arg-type]
                continue
            if role is _OPENER:
                stack.extend(self._children(node, scope))
                continue
            fields = fields_of.get(kind)
            if fields is None:
                fields = fields_of[kind] = _child_fields(kind)
            for name in fields:
                value = getattr(node, name, None)
                if type(value) is list:
                    for item in value:
                        if isinstance(item, AST) and type(item) not in leaves:
                            push((item, node, scope))
                elif isinstance(value, AST) and type(value) not in leaves:
                    push((value, node, scope))
            if role is _PLAIN:
                continue
            if role is _CALL:
                self.calls.append(node)  # type: ignore[arg-type]
                if _may_look_up(node):  # type: ignore[arg-type]
                    self._walked_lookups.append(node)  # type: ignore[arg-type]
            elif role is _NOTED_ROLE:
                self._note(node, scope)
            elif _may_name_a_setting(node) and _names_a_setting(node):  # type: ignore[arg-type]
                self._settings.append(node)  # type: ignore[arg-type]

    def _store(self, node: ast.Name, parent: ast.AST | None, scope: _Scope) -> None:
        value = None
        if isinstance(parent, ast.NamedExpr):
            target = scope
            while isinstance(target.node, _COMPREHENSIONS) and target.parent is not None:
                target = target.parent
            value = parent.value
            target.bind(node.id, value)
        else:
            value = parent.value if isinstance(parent, ast.Assign | ast.AnnAssign) else None
            scope.bind(node.id, value)
        if isinstance(value, ast.Attribute) and value.attr == "send_task":
            self._send_task_names.add(node.id)

    def _note(self, node: ast.AST, scope: _Scope) -> None:
        """The rarer nodes: bindings other than names, lookups by subscript."""
        if isinstance(node, ast.Subscript):
            if isinstance(node.value, ast.Attribute) and node.value.attr == "tasks":
                self._walked_lookups.append(node)
        elif isinstance(node, ast.Global):
            scope.globals.update(node.names)
        elif isinstance(node, ast.Nonlocal):
            scope.nonlocals.update(node.names)
        elif isinstance(node, ast.Import | ast.ImportFrom):
            source = None
            if isinstance(node, ast.ImportFrom):
                source = resolve_relative(self.module, self.is_package, node.level, node.module)
            for alias in node.names:
                if alias.name == "*":
                    continue
                local = (alias.asname or alias.name).split(".")[0]
                scope.bind(local, None)
                if not scope.is_module:
                    self._local_imports.add(local)
                    if isinstance(node, ast.Import):
                        scope.imports[local] = alias.name if alias.asname else local
                    elif source is not None:
                        scope.imports[local] = f"{source}.{alias.name}"
        elif isinstance(node, ast.ExceptHandler | ast.MatchAs | ast.MatchStar):
            if node.name:
                scope.bind(node.name, None)
        elif isinstance(node, ast.MatchMapping) and node.rest:
            scope.bind(node.rest, None)

    def _children(
        self, node: ast.AST, scope: _Scope
    ) -> Iterator[tuple[ast.AST, ast.AST | None, _Scope]]:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            inner = _Scope(node, scope)
            args = node.args
            for arg in (*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg):
                if arg is not None:
                    inner.bind(arg.arg, None)
            yield args, node, scope  # defaults and annotations run in the enclosing scope
            if isinstance(node, ast.Lambda):
                yield node.body, node, inner
                return
            scope.bind(node.name, None)
            for decorator in node.decorator_list:
                yield decorator, node, scope
            if node.returns is not None:
                yield node.returns, node, scope
            for statement in node.body:
                yield statement, node, inner
        elif isinstance(node, ast.ClassDef):
            scope.bind(node.name, None)
            inner = _Scope(node, scope)
            for expr in (*node.decorator_list, *node.bases, *node.keywords):
                yield expr, node, scope
            for statement in node.body:
                yield statement, node, inner
        elif isinstance(node, _COMPREHENSIONS):
            inner = _Scope(node, scope)
            for position, generator in enumerate(node.generators):
                self._info[id(generator)] = (node, inner)
                # The first iterable is evaluated in the enclosing scope.
                yield generator.iter, generator, scope if position == 0 else inner
                yield generator.target, generator, inner
                for condition in generator.ifs:
                    yield condition, generator, inner
            if isinstance(node, ast.DictComp):
                yield node.key, node, inner
                yield node.value, node, inner
            else:
                yield node.elt, node, inner
        else:
            for child in ast.iter_child_nodes(node):
                yield child, node, scope

    # -- names -----------------------------------------------------------------------------------

    def parent(self, node: ast.AST) -> ast.AST | None:
        info = self._info.get(id(node))
        return info[0] if info is not None else None

    def scope(self, node: ast.AST) -> _Scope:
        info = self._info.get(id(node))
        return info[1] if info is not None else self.module_scope

    def binding_scope(self, scope: _Scope, name: str) -> _Scope:
        """The scope whose binding of `name` a load in `scope` sees (Python's LEGB rule)."""
        key = (id(scope), name)
        found = self._resolved.get(key)
        if found is None:
            found = self._lookup(scope, name)
            self._resolved[key] = found
        return found

    def _lookup(self, scope: _Scope, name: str) -> _Scope:
        current: _Scope | None = scope
        innermost = True
        while current is not None and current.parent is not None:
            if name in current.globals:
                return self.module_scope
            visible = innermost or not isinstance(current.node, ast.ClassDef)
            if name not in current.nonlocals and visible and name in current.bound:
                return current
            current = current.parent
            innermost = False
        return self.module_scope

    def _store_scope(self, scope: _Scope, name: str) -> _Scope:
        if name in scope.globals:
            return self.module_scope
        if name in scope.nonlocals and scope.parent is not None:
            return self.binding_scope(scope.parent, name)
        return scope

    def is_local(self, node: ast.Name) -> bool:
        """Whether a name refers to a binding of a function, class or comprehension."""
        return not self.binding_scope(self.scope(node), node.id).is_module

    def qualified(self, node: ast.expr) -> str | None:
        """The dotted name a module-level dotted expression means; None for locals and others."""
        parts = dotted_name(node)
        if parts is None:
            return None
        root = node
        while isinstance(root, ast.Attribute):
            root = root.value
        if isinstance(root, ast.Name) and self.is_local(root):
            imported = self.local_import(root)
            return ".".join((imported, *parts[1:])) if imported is not None else None
        return qualify(parts, self.module, self.imports)

    def local_import(self, node: ast.Name) -> str | None:
        """What a name bound only by an import inside a function imports."""
        scope = self.binding_scope(self.scope(node), node.id)
        target = scope.imports.get(node.id)
        if target is None or len(scope.values.get(node.id, ())) != 1:
            return None  # also bound some other way
        return target

    def is_builtin(self, node: ast.expr, names: frozenset[str]) -> bool:
        if not (isinstance(node, ast.Name) and node.id in names):
            return False
        binding = self.binding_scope(self.scope(node), node.id)
        return node.id not in binding.bound

    def value(self, node: ast.expr) -> ValueExpr:
        """A value as written, as this module means its names."""

        def shadowed(name: str) -> bool:
            return not self.binding_scope(self.scope(node), name).is_module

        return read_value(node, self.module, self.imports, shadowed)

    def name_value(self, node: ast.expr) -> ValueExpr:
        """A task name as written; for a name built at run time (`f"proj.jobs.{kind}"`), the
        part known before the first unknown one, then NOT_LITERAL."""
        value = self.value(node)
        if value is not NOT_LITERAL:
            return value
        leading = self._leading(node)
        return Concat((*leading, NOT_LITERAL)) if leading else NOT_LITERAL

    def _leading(self, node: ast.expr) -> list[ValueExpr]:
        if isinstance(node, ast.JoinedStr):
            parts: list[ValueExpr] = []
            for piece in node.values:
                if isinstance(piece, ast.Constant) and isinstance(piece.value, str):
                    parts.append(piece.value)
                    continue
                value: ValueExpr = NOT_LITERAL
                if isinstance(piece, ast.FormattedValue) and piece.format_spec is None:
                    value = self.value(piece.value)
                if value is NOT_LITERAL:
                    break
                parts.append(value)
            return parts
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
            left = self.value(node.left)
            if left is NOT_LITERAL:
                return self._leading(node.left)
            return [left, *self._leading(node.right)]
        return []

    def _loads_of(self, scope: _Scope, name: str) -> list[ast.Name]:
        grouped = self._by_binding.get(name)
        if grouped is None:
            grouped = defaultdict(list)
            for load in self._loads.get(name, ()):
                grouped[id(self.binding_scope(self.scope(load), name))].append(load)
            self._by_binding[name] = grouped
        return grouped.get(id(scope), [])

    def bound_values(self, node: ast.Name) -> list[ast.expr | None]:
        """Every value the name may hold where it is read (None: bound some other way)."""
        scope = self.binding_scope(self.scope(node), node.id)
        return list(scope.values.get(node.id, [None]))

    # -- the flow --------------------------------------------------------------------------------

    def result_uses(self, node: ast.expr) -> frozenset[ResultUse]:
        """Where the AsyncResult that `node` evaluates to goes."""
        return self._uses(node, "result")

    def signature_uses(self, node: ast.expr) -> frozenset[ResultUse]:
        """Where the results of the tasks a signature (or a callable that starts a task, such as
        `partial(app.send_task, NAME)`) starts go, as evidence of the signature's task."""
        return frozenset(evidence(role, use) for role, use in self.signature_outcomes(node))

    def signature_outcomes(self, node: ast.expr) -> frozenset[Outcome]:
        return self._sig(node)

    def _uses(self, node: ast.expr, mode: str) -> frozenset[ResultUse]:
        found = self._result(node) if mode == "result" else self._id(node)
        return frozenset(found)

    def _follow(self, scope: _Scope, name: str, mode: str, line: int) -> set[Any]:
        """The uses of every load of `name` bound in `scope`, in a mode ("result", "id", "sig",
        "collection"). Names bound at module or class level are reachable from outside."""
        key = (id(scope), name, mode)
        memo = self._memo.get(key)
        if memo is not None:
            return set(memo)
        if key in self._active:
            self._tainted = True  # a cycle of aliases: what is found so far, not remembered
            return set()
        self._active.add(key)
        outer_taint = self._tainted
        self._tainted = False
        found: set[Any] = set()
        if scope.is_module or isinstance(scope.node, ast.ClassDef):
            where = "a module-level name" if scope.is_module else "a class attribute"
            found.add(self._escape(mode, line, f"bound to {where} '{name}'"))
        loads = self._loads_of(scope, name)
        for load in loads:
            found |= self._dispatch(load, mode)
        if not loads and not found:
            found.add(self._dropped(mode, line, f"bound to '{name}', never read"))
        self._active.discard(key)
        found = _capped(found)
        if not self._tainted:
            self._memo[key] = frozenset(found)
        self._tainted = self._tainted or outer_taint
        return found

    def _dispatch(self, node: ast.expr, mode: str) -> set[Any]:
        if mode == "result":
            return self._result(node)
        if mode == "id":
            return self._id(node)
        if mode == "sig":
            return set(self._sig(node))
        return self._collection(node)

    def _escape(self, mode: str, line: int, detail: str) -> Any:
        if mode == "result":
            return ResultUse(line, RESULT_ESCAPES, detail)
        if mode == "id":
            return ResultUse(line, ID_ESCAPES, detail)
        return ("", ResultUse(line, RESULT_ESCAPES, f"the signature is {detail}"))

    def _dropped(self, mode: str, line: int, detail: str) -> Any:
        if mode in ("result", "id"):
            return ResultUse(line, DISCARDED, detail)
        return ("", ResultUse(line, DISCARDED, detail))

    def _bind_targets(self, targets: list[ast.expr], value: ast.expr, mode: str) -> set[Any]:
        found: set[Any] = set()
        for target in targets:
            if isinstance(target, ast.Name):
                scope = self._store_scope(self.scope(target), target.id)
                found |= self._follow(scope, target.id, mode, value.lineno)
            elif isinstance(target, ast.Attribute | ast.Subscript):
                found.add(self._escape(mode, target.lineno, "stored on an object"))
            elif mode == "result":
                found.add(ResultUse(target.lineno, READ, "unpacked"))
            else:
                found.add(self._escape(mode, target.lineno, "unpacked"))
        return found

    def _common(self, node: ast.expr, parent: ast.AST, mode: str) -> set[Any] | None:
        """Contexts every mode treats alike: bindings, and expressions whose value is `node`'s."""
        if isinstance(parent, ast.Assign) and node is parent.value:
            return self._bind_targets(parent.targets, node, mode)
        if isinstance(parent, ast.AnnAssign) and node is parent.value:
            return self._bind_targets([parent.target], node, mode)
        if isinstance(parent, ast.NamedExpr) and node is parent.value:
            assert isinstance(parent.target, ast.Name)
            found = self._bind_targets([parent.target], node, mode)
            return found | self._dispatch(parent, mode)
        if isinstance(parent, ast.IfExp) and node is not parent.test:
            return self._dispatch(parent, mode)
        if isinstance(parent, ast.BoolOp):  # `r or default`: the value may be `node`
            return self._dispatch(parent, mode)
        if isinstance(parent, ast.Return):
            return {self._escape(mode, node.lineno, "returned")}
        if isinstance(parent, ast.Yield | ast.YieldFrom):
            return {self._escape(mode, node.lineno, "yielded")}
        if isinstance(parent, ast.Lambda):
            if self._run_on_commit(parent):  # Django calls it after the commit, drops its value
                return {self._dropped(mode, node.lineno, "run on commit")}
            return {self._escape(mode, node.lineno, "returned by a lambda")}
        if isinstance(parent, ast.arguments):
            return {self._escape(mode, node.lineno, "a default argument")}
        if isinstance(parent, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            return {self._escape(mode, node.lineno, "passed to a decorator or base")}
        return None

    def _memoized(self, key: tuple[Any, ...], compute: Callable[[], Iterable[Any]]) -> set[Any]:
        """Each expression's fate once (a long `a | b | c` chain asks for its outer parts once per
        member); a result found inside an alias cycle is not remembered, as in `_follow`."""
        hit = self._node_memo.get(key)
        if hit is not None:
            return set(hit)
        outer = self._tainted
        self._tainted = False
        found = _capped(set(compute()))
        if not self._tainted:
            self._node_memo[key] = frozenset(found)
        self._tainted = self._tainted or outer
        return found

    def _result(self, node: ast.expr) -> set[Any]:
        return self._memoized((id(node), "result"), lambda: self._result_of(node))

    def _id(self, node: ast.AST) -> set[Any]:
        return self._memoized((id(node), "id"), lambda: self._id_of(node))

    def _sig(self, node: ast.expr) -> frozenset[Outcome]:
        return frozenset(self._memoized((id(node), "sig"), lambda: self._sig_of(node)))

    def _collection(self, node: ast.AST, element: ast.expr | None = None) -> set[Outcome]:
        key = (id(node), "collection", id(element))
        return self._memoized(key, lambda: self._collection_of(node, element))

    def _result_of(self, node: ast.expr) -> set[Any]:
        parent = self.parent(node)
        line = node.lineno
        if parent is None:
            return {ResultUse(line, READ, "used")}
        if isinstance(parent, ast.Expr):
            return {ResultUse(line, DISCARDED, "")}
        common = self._common(node, parent, "result")
        if common is not None:
            return common
        if isinstance(parent, ast.Attribute):
            attr = parent.attr
            if attr in ID_ATTRIBUTES:
                return self._id(parent) or {ResultUse(line, DISCARDED, attr)}
            if attr in NO_READ_ATTRIBUTES:
                return {ResultUse(parent.lineno, DISCARDED, attr)}
            if attr == "save":  # GroupResult.save(): restored later by id
                return {ResultUse(parent.lineno, ID_ESCAPES, "save")}
            return {ResultUse(parent.end_lineno or parent.lineno, READ, attr)}
        call = self._call_of_argument(node, parent)
        if call is not None:
            if self.is_builtin(call.func, INERT_BUILTINS) or _is_assertion(call.func):
                return {ResultUse(line, DISCARDED, "inspected")}
            if self.is_builtin(call.func, ID_BUILTINS):
                return self._id(call)
            return {ResultUse(line, RESULT_ESCAPES, "passed to a call")}
        if isinstance(parent, ast.Compare | ast.If | ast.While | ast.Assert) or (
            isinstance(parent, ast.UnaryOp) and isinstance(parent.op, ast.Not)
        ):
            return {ResultUse(line, DISCARDED, "compared")}
        if isinstance(parent, ast.IfExp):
            return {ResultUse(line, DISCARDED, "compared")}
        if isinstance(parent, ast.FormattedValue):  # f"{r}" is its id
            joined = self.parent(parent)
            return self._id(joined) if isinstance(joined, ast.JoinedStr) else set()
        if isinstance(parent, (*_DISPLAYS, *_COMPREHENSIONS, ast.Starred)):
            return {ResultUse(line, RESULT_ESCAPES, "collected")}
        return {ResultUse(line, READ, f"used in {type(parent).__name__}")}

    def _run_on_commit(self, function: ast.Lambda) -> bool:
        """`transaction.on_commit(lambda: ...)` (or `connection.on_commit`): the lambda's value
        is dropped."""
        parent = self.parent(function)
        call = self._call_of_argument(function, parent) if parent is not None else None
        if call is None or call.args[:1] != [function]:
            return False
        func = call.func
        name = func.attr if isinstance(func, ast.Attribute) else None
        if isinstance(func, ast.Name):
            name = (self.qualified(func) or "").rpartition(".")[2]
        return name == "on_commit"

    def _call_of_argument(self, node: ast.expr, parent: ast.AST) -> ast.Call | None:
        """The call `node` is an argument of (positional, keyword or starred)."""
        if isinstance(parent, ast.keyword):
            parent = self.parent(parent)  # type: ignore[assignment]
        elif isinstance(parent, ast.Starred):
            grand = self.parent(parent)
            if isinstance(grand, ast.Call) and parent in grand.args:
                parent = grand
        if isinstance(parent, ast.Call) and node is not parent.func:
            return parent
        return None

    def _id_of(self, node: ast.AST) -> set[Any]:
        """Where a task id goes: polled (read by id), handed on (returned, stored, passed on)."""
        parent = self.parent(node)
        assert isinstance(node, ast.expr)
        line = node.lineno
        if parent is None or isinstance(parent, ast.Expr):
            return set()
        common = self._common(node, parent, "id")
        if common is not None:
            return common
        if isinstance(parent, ast.Attribute):  # r.id.hex, r.id.encode(): still the id
            grand = self.parent(parent)
            if isinstance(grand, ast.Call) and grand.func is parent:
                return self._id(grand)
            return self._id(parent)
        call = self._call_of_argument(node, parent)
        if call is not None:
            if self._reads_by_id(call.func):
                self.attributed.add(id(call))
                uses = self._result(call)
                return {
                    ResultUse(u.line, READ_BY_ID, u.detail) if u.kind == READ else u for u in uses
                }
            func = call.func
            if (
                self.is_builtin(func, INERT_BUILTINS)
                or _is_assertion(func)
                or (isinstance(func, ast.Attribute) and func.attr in LOG_METHODS)
                or self.is_builtin(func, frozenset({"print"}))
            ):
                return set()
            if self.is_builtin(func, ID_BUILTINS) or (
                isinstance(func, ast.Attribute) and func.attr == "format"
            ):
                return self._id(call)
            return {ResultUse(line, ID_ESCAPES, "passed to a call")}
        if isinstance(parent, ast.FormattedValue):
            joined = self.parent(parent)
            return self._id(joined) if joined is not None else set()
        if isinstance(parent, ast.BinOp | ast.Subscript | ast.JoinedStr):
            return self._id(parent)
        if isinstance(parent, ast.Compare | ast.If | ast.While | ast.Assert | ast.IfExp):
            return set()
        if isinstance(parent, (*_DISPLAYS, *_COMPREHENSIONS, ast.Starred)):
            return {ResultUse(line, ID_ESCAPES, "collected")}
        return {ResultUse(line, ID_ESCAPES, f"used in {type(parent).__name__}")}

    def _reads_by_id(self, func: ast.expr) -> bool:
        """`AsyncResult`, `x.AsyncResult`, `GroupResult.restore`, `result_from_tuple`."""
        if isinstance(func, ast.Name):
            return func.id in RESULT_BY_ID
        if isinstance(func, ast.Attribute):
            if func.attr == "restore":
                return (dotted_name(func.value) or ("",))[-1] == "GroupResult"
            return func.attr in RESULT_BY_ID
        return False

    # -- signatures ------------------------------------------------------------------------------

    def canvas_kind(self, func: ast.expr) -> str | None:
        """ "chain", "group" or "chord" when `func` is Celery's canvas constructor."""
        qualified = self.qualified(func)
        return CANVAS_KINDS.get(qualified) if qualified is not None else None

    def _sig_of(self, node: ast.expr) -> frozenset[Outcome]:
        found: set[Outcome] = set()
        parent = self.parent(node)
        line = node.lineno
        if parent is None or isinstance(parent, ast.Expr):
            return frozenset()  # made and never applied
        common = self._common(node, parent, "sig")
        if common is not None:
            return frozenset(common)
        if isinstance(parent, ast.Attribute):
            grand = self.parent(parent)
            called = isinstance(grand, ast.Call) and grand.func is parent
            attr = parent.attr
            if called and attr in APPLY_METHODS | {"freeze"}:
                assert isinstance(grand, ast.Call)
                found |= {("", u) for u in self._result(grand)}
                found |= {("", u) for u in _explicit_false(grand)}
            elif called and attr == "apply":
                assert isinstance(grand, ast.Call)
                found |= {("eager", u) for u in self._result(grand)}
            elif called and attr in SIGNATURE_RETURNING:
                assert isinstance(grand, ast.Call)
                found |= {("", u) for u in _explicit_false(grand)}
                found |= self._sig(grand)
            elif called and attr in ("link", "link_error"):
                pass  # the call's value is the callback; this signature is unchanged
            elif attr in ID_ATTRIBUTES:  # the id a frozen signature will have
                found |= {("", u) for u in self._id(parent)}
            elif attr not in SIGNATURE_INSPECTION:
                found.add(("", ResultUse(line, READ, f"signature.{attr}")))
            return frozenset(found)
        if isinstance(parent, ast.Call) and node is parent.func:  # sig(...)
            kind = self.canvas_kind(node.func) if isinstance(node, ast.Call) else None
            if kind == "chord":  # chord(header)(body): the body is in `parent`'s arguments
                return frozenset(("", u) for u in self._result(parent))
            found |= {("", u) for u in self._result(parent)}
            found |= {("", u) for u in _explicit_false(parent)}
            return frozenset(found)
        if isinstance(parent, ast.BinOp) and isinstance(parent.op, ast.BitOr):
            return frozenset(self._member_of_pipe(node, parent))
        call = self._call_of_argument(node, parent)
        if call is not None:
            return frozenset(self._sig_argument(node, parent, call))
        if isinstance(parent, (*_DISPLAYS, *_COMPREHENSIONS, ast.Starred)):
            if isinstance(parent, ast.Dict | ast.DictComp):
                return frozenset({self._escape("sig", line, "collected")})
            return frozenset(self._collection(parent, node))
        return frozenset(
            {("", ResultUse(line, READ, f"signature used in {type(parent).__name__}"))}
        )

    def _member_of_pipe(self, node: ast.expr, pipe: ast.BinOp) -> set[Outcome]:
        """`a | b`: a chain; `group | sig` makes a chord whose header is the group."""
        outcomes = self._sig(pipe)
        if node is pipe.right:
            return set(outcomes)
        is_group = isinstance(node, ast.Call) and self.canvas_kind(node.func) == "group"
        relation = "header" if is_group else "member"
        return {_relate(relation, role, use, node.lineno) for role, use in outcomes}

    def _sig_argument(self, node: ast.expr, parent: ast.AST, call: ast.Call) -> set[Outcome]:
        line = node.lineno
        kind = self.canvas_kind(call.func)
        if kind is not None:
            return self._canvas_member(node, parent, call, kind, node)
        func = call.func
        if isinstance(func, ast.Call) and self.canvas_kind(func.func) == "chord":
            return {("", use) for use in self._result(call)}  # chord(header)(body)
        if isinstance(func, ast.Attribute):
            if func.attr == "add_periodic_task":  # beat applies it and drops the result
                return {("", ResultUse(line, DISCARDED, "periodic task"))}
            if func.attr in ("append", "add", "insert", "extend", "appendleft"):
                owner = func.value
                if isinstance(owner, ast.Name):  # header.append(sig): the list is the signature's
                    scope = self.binding_scope(self.scope(owner), owner.id)
                    return self._follow(scope, owner.id, "collection", line)
            linked = self._linked(parent, call, line)
            if linked is not None:
                return linked
            if func.attr in ("link", "link_error", "on_error") and node in call.args:
                receiver = func.value
                return {_relate("link", r, u, line) for r, u in self._sig(receiver)} | set(
                    self._sig(call)
                )
        return {self._escape("sig", line, "passed to a call")}

    def _linked(self, parent: ast.AST, call: ast.Call, line: int) -> set[Outcome] | None:
        """A callback given as `link=` / `link_error=` (alone or in a list) of a start: read only
        through its parent's children."""
        func = call.func
        if not (isinstance(parent, ast.keyword) and parent.arg in ("link", "link_error")):
            return None
        if not isinstance(func, ast.Attribute):
            return None
        if func.attr in APPLY_METHODS or func.attr == "send_task":
            return {_relate("link", "", use, line) for use in self._result(call)}
        if func.attr in SIGNATURE_METHODS | SIGNATURE_RETURNING:
            return {_relate("link", r, u, line) for r, u in self._sig(call)}
        return None

    def _canvas_member(
        self, node: ast.expr, parent: ast.AST, call: ast.Call, kind: str, element: ast.expr
    ) -> set[Outcome]:
        """A member of `chain(...)`, `group(...)` or `chord(...)`: `node` is an argument, and
        `element` the signature in it (`node` itself, or one in a collection `node` is)."""
        line = element.lineno
        argument = node
        while self.parent(argument) is not call and self.parent(argument) is not None:
            argument = self.parent(argument)  # type: ignore[assignment]
        keyword = parent.arg if isinstance(parent, ast.keyword) else None
        if isinstance(self.parent(argument), ast.Call) and argument not in call.args:
            keyword = next((k.arg for k in call.keywords if k.value is argument), keyword)
        if kind == "chord":
            is_header = keyword == "header" or (keyword is None and call.args[:1] == [argument])
            if is_header:
                return {(CHORD_HEADER, ResultUse(line, CHORD_HEADER, "chord header"))}
            return set(self._sig(call))  # the body: the chord's result is its result
        outcomes = self._sig(call)
        if kind == "group":
            return {_relate("member", role, use, line) for role, use in outcomes}
        # A group followed by more members is upgraded to a chord with the group as header.
        is_group = isinstance(element, ast.Call) and self.canvas_kind(element.func) == "group"
        last = bool(call.args) and call.args[-1] is argument and not call.keywords
        if last and element is node:
            return set(outcomes)
        if last and not is_group:  # an element of the last collection may be the last member
            return set(outcomes) | {_relate("member", r, u, line) for r, u in outcomes}
        relation = "header" if is_group else "member"
        return {_relate(relation, role, use, line) for role, use in outcomes}

    def _collection_of(self, node: ast.AST, element: ast.expr | None = None) -> set[Outcome]:
        """A list, tuple, set or comprehension of signatures (or a name bound to one)."""
        assert isinstance(node, ast.expr)
        parent = self.parent(node)
        line = node.lineno
        if parent is None or isinstance(parent, ast.Expr):
            return set()
        if isinstance(parent, ast.Starred):  # chain(*sigs)
            return self._collection(parent, element)
        common = self._common(node, parent, "collection")
        if common is not None:
            return common
        call = self._call_of_argument(node, parent)
        if call is not None:
            kind = self.canvas_kind(call.func)
            if kind is not None:
                return self._canvas_member(node, parent, call, kind, element or node)
            linked = self._linked(parent, call, (element or node).lineno)
            if linked is not None:
                return linked
            if self.is_builtin(call.func, frozenset({"len", "bool", "print", "isinstance"})):
                return set()
        if isinstance(parent, ast.Attribute) and parent.attr in ("append", "add", "extend"):
            return set()  # more members added to the same collection
        if isinstance(parent, ast.Subscript | ast.comprehension):
            return {self._escape("sig", line, "taken out of a collection")}
        if isinstance(parent, ast.For | ast.AsyncFor):
            return {self._escape("sig", line, "iterated")}
        return {self._escape("sig", line, "collected")}

    # -- the module's task starts, for `results` -------------------------------------------------

    def scan(self, tree: ast.Module) -> ResultFacts:
        """The module's starts and reads; a module nested too deeply to follow may start any
        task and read its result."""
        try:
            return self._scan(tree)
        except RecursionError:
            use = ResultUse(1, RESULT_ESCAPES, "the module is nested too deeply to follow")
            why = "a module nested too deeply to follow"
            return ResultFacts(
                starts=(TaskStart(1, "delay", dynamic=why, uses=(use,), any_task=True),)
            )

    def _scan(self, tree: ast.Module) -> ResultFacts:
        starts: list[TaskStart] = []
        id_calls: list[ast.Call] = []
        for call in self.calls:
            start = self._start(call)
            if start is not None:
                starts.append(start)
            elif self._reads_by_id(call.func):
                id_calls.append(call)
        id_reads = [(line, QUERIED) for line in self._result_store_queries()]
        for call in id_calls:
            if id(call) in self.attributed:
                continue
            if may_read(self._result(call)):
                receiver = call.func.value if isinstance(call.func, ast.Attribute) else None
                name = self.qualified(receiver) if receiver is not None else None
                id_reads.append((call.lineno, name or ""))
        return ResultFacts(
            starts=tuple(sorted(starts, key=lambda s: (s.line, s.how, s.target))),
            id_reads=tuple(sorted(set(id_reads))),
            lookups=tuple(sorted(set(self._lookups()))),
            references=_first_of_each(self._references()),
            eager=self._sets_eager(),
            apps=tuple(_apps(tree, self)),
            backends=tuple(self._backends()),
        )

    def _sets_eager(self) -> bool:
        """`task_always_eager = True` (any spelling, as an assignment, keyword or dict entry)
        where it holds for the whole module: at module level, or in an autouse pytest fixture.
        Set in a decorator (one test's), a class or a fixture a test may not use, it does not
        count."""
        for node in self._settings:
            if not any(
                n in EAGER_SETTINGS and literal_value(v) is True for n, v, _ in _setting_pairs(node)
            ):
                continue
            scope = self.scope(node)
            holds = scope.is_module or (
                isinstance(scope.node, ast.FunctionDef)
                and scope.parent is self.module_scope
                and any(_autouse_fixture(d) for d in scope.node.decorator_list)
            )
            if holds and not self._in_decorator(node):
                return True
        return False

    def _in_decorator(self, node: ast.AST) -> bool:
        child, parent = node, self.parent(node)
        while parent is not None and not isinstance(parent, ast.stmt):
            child, parent = parent, self.parent(parent)
        return isinstance(parent, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) and any(
            child is d for d in parent.decorator_list
        )

    def _backends(self) -> Iterator[tuple[str, int]]:
        """Where a result backend is set: `Celery(backend=...)`, `result_backend = ...`,
        `app.conf.result_backend = ...`, `CELERY_RESULT_BACKEND = ...`, `conf.update(...)`."""
        for node in self._settings:
            for name, _, line in _setting_pairs(node):
                if name not in BACKEND_SETTINGS:
                    continue
                if isinstance(node, ast.Assign):
                    parts = dotted_name(node.targets[0]) or (name,)
                    if name != "backend":
                        yield ".".join(parts), line
                elif isinstance(node, ast.keyword):
                    call = self.parent(node)
                    callee = dotted_name(call.func) if isinstance(call, ast.Call) else None
                    if name != "backend" or (callee and "celery" in callee[-1].lower()):
                        yield f"{name}=", line
                elif name != "backend":
                    yield name, line

    def _result_store_queries(self) -> Iterator[int]:
        """Where the module reads stored results by query (django-celery-results' models):
        any task's result may be read there."""
        for name, target in self.imports.items():
            if target == RESULT_STORE or target.startswith(RESULT_STORE + "."):
                loads = self._loads_of(self.module_scope, name)
                if loads:
                    yield loads[0].lineno

    def _lookups(self) -> Iterator[tuple[int, str]]:
        """Task objects looked up at run time by a name the module does not spell out."""
        for node in self._walked_lookups:
            if isinstance(node, ast.Subscript):  # app.tasks[name]
                if literal_value(node.slice) is NOT_LITERAL:
                    yield node.lineno, ""
                continue
            call = node
            func = call.func
            first = call.args[0] if call.args else None
            if isinstance(func, ast.Attribute) and func.attr in ("values", "items", "get"):
                if func.attr != "get" or first is None or literal_value(first) is NOT_LITERAL:
                    yield call.lineno, ""  # app.tasks.get(name), app.tasks.values()
            elif self.is_builtin(func, frozenset({"getattr"})) and len(call.args) >= 2:
                if literal_value(call.args[1]) is NOT_LITERAL and first is not None:
                    owner = self.qualified(first)
                    if owner is not None:  # getattr(tasks_module, name)
                        yield call.lineno, owner
            elif first is not None and literal_value(first) is NOT_LITERAL:
                yield call.lineno, ""  # import_module(name), __import__(name)

    def _start(self, call: ast.Call) -> TaskStart | None:
        func = call.func
        line = call.lineno
        if isinstance(func, ast.Attribute):
            attr = func.attr
            receiver = func.value
            if attr == "send_task":
                return self._by_name(call, "send_task", call.args, receiver)
            if attr in APPLY_METHODS or attr == "apply":
                return self._applied(call, attr, receiver)
            if attr in SIGNATURE_METHODS:
                return self._signature_method(call, attr, receiver)
            return None
        if isinstance(func, ast.Name):
            qualified = self.qualified(func) if self._may_name_a_starter(func.id) else None
            if qualified in CELERY_SIGNATURES:
                return self._signature_by_name(call)
            if func.id in self._send_task_names and any(
                isinstance(value, ast.Attribute) and value.attr == "send_task"
                for value in self.bound_values(func)
            ):
                return self._by_name(call, "send_task", call.args, None)
            if (
                qualified == "functools.partial"
                and call.args
                and isinstance(call.args[0], ast.Attribute)
                and call.args[0].attr == "send_task"
            ):
                name = call.args[1] if len(call.args) > 1 else None
                task = self.value(name) if name is not None else None
                uses = _sorted(self.signature_uses(call))
                return TaskStart(line, "send_task", task=task, dynamic=_why(name, task), uses=uses)
        return None

    def _may_name_a_starter(self, name: str) -> bool:
        """Whether a called name may be Celery's `signature` or `functools.partial`: an imported
        name, or a global of a module that defines them (most called names are neither)."""
        return (
            name in self.imports
            or name in self._local_imports
            or f"{self.module}.{name}" in NAME_STARTERS
        )

    def _by_name(
        self, call: ast.Call, how: str, positional: list[ast.expr], receiver: ast.expr | None
    ) -> TaskStart:
        name = positional[0] if positional else _keyword(call, "name")
        task = self.name_value(name) if name is not None else None
        uses = set(self.result_uses(call)) | _explicit_false(call) | _chosen_id(call)
        owner = (self.qualified(receiver) or "") if receiver is not None else ""
        return TaskStart(
            call.lineno,
            how,
            task=task,
            dynamic=_why(name, task),
            receiver=owner,
            uses=_sorted(uses),
        )

    def _signature_method(self, call: ast.Call, attr: str, receiver: ast.expr) -> TaskStart | None:
        """`t.s(...)`, `t.si(...)`, `t.signature(...)`; `app.signature(NAME)` is by name."""
        if self.qualified(call.func) in CELERY_SIGNATURES or (
            attr in ("signature", "subtask") and _has_literal_name(call)
        ):
            return self._signature_by_name(call)
        uses = _sorted(set(self.signature_uses(call)) | _explicit_false(call))
        target = self.qualified(receiver)
        if attr in ("signature", "subtask"):
            # A task's own method, or an app's with a name from a constant: decided when linked.
            name = call.args[0] if call.args else None
            task = self.value(name) if name is not None else None
            if target is None and task is NOT_LITERAL:
                return None  # inspect-like `obj.signature(x)` on a local object
            return TaskStart(call.lineno, "signature", task=task, target=target or "", uses=uses)
        if target is not None:
            return TaskStart(call.lineno, "signature", target=target, uses=uses)
        what = ast.unparse(receiver)
        return TaskStart(
            call.lineno,
            "signature",
            dynamic=f"the receiver '{what[:60]}'",
            uses=uses,
            any_task=_any_task(receiver),
        )

    def _signature_by_name(self, call: ast.Call) -> TaskStart:
        name = call.args[0] if call.args else _keyword(call, "task")
        task = self.name_value(name) if name is not None else None
        uses = set(self.signature_uses(call)) | _explicit_false(call)
        return TaskStart(
            call.lineno, "signature", task=task, dynamic=_why(name, task), uses=_sorted(uses)
        )

    def _applied(self, call: ast.Call, how: str, receiver: ast.expr) -> TaskStart | None:
        line = call.lineno
        if self._is_signature_expression(receiver):
            return None  # followed from the signature
        if isinstance(receiver, ast.Subscript):  # app.tasks["name"].delay()
            owner = receiver.value
            if isinstance(owner, ast.Attribute) and owner.attr == "tasks":
                name = receiver.slice
                task = self.name_value(name)
                return TaskStart(
                    line, how, task=task, dynamic=_why(name, task), uses=self._applied_uses(call)
                )
        target = self.qualified(receiver)
        if target is not None:
            return TaskStart(line, how, target=target, uses=self._applied_uses(call))
        if how == "apply":
            return None  # runs in the caller: no backend either way
        root = receiver
        while isinstance(root, ast.Attribute):
            root = root.value
        if isinstance(root, ast.Name) and isinstance(receiver, ast.Name):
            values = self.bound_values(receiver)
            if values and all(v is not None and self._is_signature_expression(v) for v in values):
                return None  # followed from the signatures bound to it
        what = ast.unparse(receiver)
        if len(what) > 60:
            what = what[:57] + "..."
        return TaskStart(
            line,
            how,
            dynamic=f"the receiver '{what}'",
            uses=self._applied_uses(call),
            any_task=_any_task(receiver),
        )

    def _applied_uses(self, call: ast.Call) -> tuple[ResultUse, ...]:
        eager = isinstance(call.func, ast.Attribute) and call.func.attr == "apply"
        uses = set(self.result_uses(call)) | _explicit_false(call) | _chosen_id(call)
        if eager:
            uses = {ResultUse(u.line, u.kind, u.detail, True) for u in uses}
        return _sorted(uses)

    def _is_signature_expression(self, node: ast.expr) -> bool:
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
            return True
        if not isinstance(node, ast.Call):
            return False
        func = node.func
        if self.canvas_kind(func) is not None or self.qualified(func) in CELERY_SIGNATURES:
            return True
        if isinstance(func, ast.Attribute):
            if func.attr in SIGNATURE_METHODS:
                return True
            if func.attr in SIGNATURE_RETURNING:
                return self._is_signature_expression(func.value)
        if isinstance(func, ast.Call):  # chord(header)(body)
            return self.canvas_kind(func.func) == "chord"
        return False

    def _references(self) -> Iterator[tuple[str, int, str]]:
        """Task objects passed on by name (`register(add)`, `jobs = [add]`, `f = add.delay`):
        whoever gets one may start it and read the result."""
        candidates = self.decorated | set(self.imports)
        for name, loads in self._loads.items():
            if name not in candidates and name not in self._local_imports:
                continue  # neither a module-level candidate nor imported in a function
            for load in loads:
                node: ast.expr = load
                parent = self.parent(node)
                while isinstance(parent, ast.Attribute) and parent.attr not in _USING_ATTRIBUTES:
                    node = parent
                    parent = self.parent(node)
                detail = self._reference_use(node, parent)
                if detail is None:
                    continue
                binding = self.binding_scope(self.scope(load), name)
                if binding.is_module and name not in candidates:
                    continue
                if not binding.is_module and self.local_import(load) is None:
                    continue
                target = self.qualified(node)
                if target is not None:
                    yield target, node.lineno, detail

    def _reference_use(self, node: ast.expr, parent: ast.AST | None) -> str | None:
        """How a task object leaves the module's sight, or None when it does not."""
        if parent is None or isinstance(parent, ast.Expr | ast.Compare | ast.Import):
            return None
        if isinstance(parent, ast.Attribute):
            grand = self.parent(parent)
            called = isinstance(grand, ast.Call) and grand.func is parent
            if parent.attr in ("map", "starmap", "chunks"):
                return f"{parent.attr}(): the task runs inside another task"
            if parent.attr in ("name", "AsyncResult") or called:
                return None
            return f"its {parent.attr} is passed on"
        if isinstance(parent, ast.Call):
            if node is parent.func or self.is_builtin(parent.func, INERT_BUILTINS):
                return None
            return "passed to a call"
        if isinstance(parent, ast.keyword):
            return "passed to a call"
        if isinstance(parent, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            return None  # a decorator (or base) as written
        if isinstance(parent, ast.If | ast.While | ast.Assert | ast.UnaryOp | ast.BoolOp):
            return None
        if isinstance(parent, ast.Assign | ast.AnnAssign | ast.NamedExpr):
            return "bound to another name"
        if isinstance(parent, ast.Return | ast.Yield | ast.YieldFrom | ast.Lambda):
            return "returned"
        if isinstance(parent, ast.Delete | ast.Global | ast.Nonlocal):
            return None
        return "collected"


def _first_of_each(references: Iterable[tuple[str, int, str]]) -> tuple[tuple[str, int, str], ...]:
    """One reference per name (its first), in line order."""
    first: dict[str, tuple[str, int, str]] = {}
    for reference in sorted(references, key=lambda r: (r[1], r[0], r[2])):
        first.setdefault(reference[0], reference)
    return tuple(sorted(first.values(), key=lambda r: (r[1], r[0])))


def _capped(found: set[Any]) -> set[Any]:
    """At most MAX_USES_PER_KIND uses of each kind (the first in the file): a verdict needs the
    kinds, a reviewer a few places; a name bound N times and read N times would otherwise give
    every start N uses (N x N in all)."""
    if len(found) <= MAX_USES_PER_KIND:
        return found
    groups: dict[tuple[Any, ...], list[Any]] = defaultdict(list)
    for item in found:
        use = item[1] if isinstance(item, tuple) else item
        role = item[0] if isinstance(item, tuple) else ""
        groups[(role, use.kind, use.eager)].append(item)
    kept: set[Any] = set()
    for items in groups.values():
        items.sort(key=lambda i: _use_key(i[1] if isinstance(i, tuple) else i))
        kept.update(items[:MAX_USES_PER_KIND])
    return kept


def _use_key(use: ResultUse) -> tuple[int, str, str]:
    return (use.line, use.kind, use.detail)


def evidence(role: str, use: ResultUse) -> ResultUse:
    """A signature's outcome as evidence for its task."""
    if role == CHORD_HEADER:
        return ResultUse(use.line, CHORD_HEADER, use.detail)
    if role == "eager":
        return ResultUse(use.line, use.kind, use.detail, True)
    if role == "canvas" and use.kind == READ:
        return ResultUse(use.line, CANVAS_READ, use.detail)
    if role == "link" and use.kind == READ:
        if use.detail in CHILD_READS:
            return ResultUse(use.line, CANVAS_READ, use.detail)
        return ResultUse(use.line, DISCARDED, f"{use.detail} (a callback is not read by it)")
    return use


def _relate(relation: str, role: str, use: ResultUse, line: int) -> Outcome:
    """The outcome for a member, given its canvas's (role, use)."""
    if relation == "header" or role == CHORD_HEADER:
        return (CHORD_HEADER, ResultUse(line, CHORD_HEADER, "chord header"))
    if role == "eager":
        return (role, use)
    if relation == "link":
        return ("link", use)
    return ("canvas", use)


def _may_look_up(call: ast.Call) -> bool:
    func = call.func
    if isinstance(func, ast.Attribute):
        owner = func.value
        if func.attr in ("values", "items", "get"):
            return isinstance(owner, ast.Attribute) and owner.attr == "tasks"
        return func.attr == "import_module"
    return isinstance(func, ast.Name) and func.id in ("getattr", "__import__", "import_module")


def _any_task(receiver: ast.expr) -> bool:
    """`self`/`cls` (a task class's own methods, a bound task) or the current task."""
    parts = dotted_name(receiver)
    if parts is None:
        return False
    return parts[0] in ("self", "cls") or any(
        p in ("current_task", "current_worker_task") for p in parts
    )


def _is_assertion(func: ast.expr) -> bool:
    return isinstance(func, ast.Attribute) and func.attr.startswith("assert")


def _keyword(call: ast.Call, name: str) -> ast.expr | None:
    return next((k.value for k in call.keywords if k.arg == name), None)


def _explicit_false(call: ast.Call) -> set[ResultUse]:
    """`ignore_result=` set to anything but True on the call (or in its options dict)."""
    values = [k.value for k in call.keywords if k.arg == "ignore_result"]
    options = _keyword(call, "options")
    if isinstance(options, ast.Dict):
        values += [
            v
            for k, v in zip(options.keys, options.values, strict=True)
            if isinstance(k, ast.Constant) and k.value == "ignore_result"
        ]
    return {
        ResultUse(value.lineno, EXPLICIT_FALSE, "ignore_result on the call")
        for value in values
        if literal_value(value) is not True
    }


def _chosen_id(call: ast.Call) -> set[ResultUse]:
    """`task_id=` chosen by the caller: it knows the id before the call and may hand it on."""
    value = _keyword(call, "task_id")
    if value is None or literal_value(value) is None:
        return set()
    return {ResultUse(value.lineno, ID_ESCAPES, "task_id chosen by the caller")}


def _has_literal_name(call: ast.Call) -> bool:
    return bool(call.args) and isinstance(literal_value(call.args[0]), str)


def _why(node: ast.expr | None, value: ValueExpr | None) -> str:
    if node is None:
        return "no name"
    dynamic = isinstance(value, Concat) and NOT_LITERAL in value.parts
    if value is NOT_LITERAL or value is None or dynamic:
        text = ast.unparse(node)
        return f"the name {text[:57] + '...' if len(text) > 60 else text}"
    return ""


def _sorted(uses: Iterable[ResultUse]) -> tuple[ResultUse, ...]:
    return tuple(sorted(set(uses), key=lambda u: (u.line, u.kind, u.detail, u.eager)))


def _autouse_fixture(decorator: ast.expr) -> bool:
    if not isinstance(decorator, ast.Call):
        return False
    name = dotted_name(decorator.func)
    return (
        name is not None
        and name[-1] == "fixture"
        and any(k.arg == "autouse" and literal_value(k.value) is True for k in decorator.keywords)
    )


def _may_name_a_setting(node: ast.AST) -> bool:
    """A quick test that `_names_a_setting` may hold (most assignments and keywords fail it)."""
    if isinstance(node, ast.keyword):
        return node.arg in SETTING_NAMES
    if isinstance(node, ast.Assign):
        return any(
            (t.id if type(t) is ast.Name else t.attr if type(t) is ast.Attribute else None)
            in SETTING_NAMES
            for t in node.targets
        )
    return True


def _names_a_setting(node: ast.Assign | ast.keyword | ast.Dict) -> bool:
    """An assignment, keyword or dict entry of an eager or result-backend setting."""
    return any(name in SETTING_NAMES for name, _, _ in _setting_pairs(node))


def _setting_pairs(node: ast.AST) -> Iterator[tuple[str | None, ast.expr, int]]:
    """(name, value, line) of what the node sets."""
    if isinstance(node, ast.Assign):
        for target in node.targets:
            parts = dotted_name(target)
            yield (parts[-1] if parts else None), node.value, node.lineno
    elif isinstance(node, ast.keyword):
        yield node.arg, node.value, node.value.lineno
    elif isinstance(node, ast.Dict):
        for key, value in zip(node.keys, node.values, strict=True):
            if isinstance(key, ast.Constant) and isinstance(key.value, str):
                yield key.value, value, key.lineno


def _apps(tree: ast.Module, flow: ResultFlow) -> Iterator[tuple[str, int]]:
    """Module-level `app = Celery(...)`, a subclass (`NotifyCelery(...)`) or a factory whose name
    says celery (`make_celery()`); not other classes named after Celery (`CeleryQueue(...)`)."""
    prefix = f"{flow.module}." if flow.module else ""
    for node in tree.body:
        if isinstance(node, ast.Assign | ast.AnnAssign) and isinstance(node.value, ast.Call):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            callee = dotted_name(node.value.func)
            last = callee[-1] if callee else ""
            # Celery, a subclass named after it (NotifyCelery), or a factory (make_celery).
            if not (last.endswith("Celery") or (last[:1].islower() and "celery" in last.lower())):
                continue
            for target in targets:
                if isinstance(target, ast.Name):
                    yield prefix + target.id, node.lineno


def scan_results(
    tree: ast.Module, *, module: str = "", is_package: bool = False, flow: ResultFlow | None = None
) -> ResultFacts:
    """What one module does with task results (a pure function of the tree and its name)."""
    return (flow or ResultFlow(tree, module, is_package)).scan(tree)
