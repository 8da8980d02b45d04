"""What a `.send_task(...)` call is made on, as far as its own module shows.

The answer is a `Receiver` that the plan checks against the project's classes (appclasses.py):
a module-level or imported name (`app`, `celery.current_app`, `client`), an object made by
calling a dotted name (`TaskClient(...)`, or a local or `self.x` assigned once from such a call),
`self` inside a method of a module-level class, or the app of a bound task (`self.app` in
`@app.task(bind=True)`). Anything else is unknown (None).
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Collection, Sequence

from codemods.astutil import dotted_name, final_name, iter_statements, scope_bindings
from codemods.model import Receiver

Qualify = Callable[[ast.expr], "str | None"]
ScopeNames = Callable[[ast.AST], Collection[str]]
Function = ast.FunctionDef | ast.AsyncFunctionDef
APP_ATTRIBUTES = frozenset({"app", "_app"})


class ReceiverReader:
    """Reads receivers for one module; what it learns of functions and classes is kept."""

    def __init__(self, module: str, qualified: Qualify, scope_names: ScopeNames) -> None:
        self.module = module
        self.qualified = qualified
        self.scope_names = scope_names
        self._locals: dict[tuple[int, str], str | None] = {}
        self._attributes: dict[tuple[int, str], str | None] = {}

    def receiver(self, node: ast.expr, scopes: Sequence[ast.AST]) -> Receiver | None:
        """`node` is the `x` of `x.send_task`; `scopes` the scopes around it, outermost first."""
        if isinstance(node, ast.Call):
            callee = self.qualified(node.func)
            return Receiver("new", callee) if callee else None
        parts = dotted_name(node)
        if parts is None:
            return None
        binder = self._binding_scope(parts[0], scopes)
        if binder is None:
            name = self.qualified(node)
            return Receiver("name", name) if name else None
        index, scope = binder
        if not isinstance(scope, Function):
            return None
        first = _first_parameter(scope)
        if parts[0] == first:
            if len(parts) == 2 and parts[1] in APP_ATTRIBUTES and _bound_task(scope):
                return Receiver("task")
            cls = scopes[index - 1] if index > 0 else None
            if not (index == 1 and isinstance(cls, ast.ClassDef)) or _static(scope):
                return None
            if len(parts) == 1:
                return Receiver("self", self._own(cls.name))
            made_by = self._attribute(cls, parts[1]) if len(parts) == 2 else None
            return Receiver("new", made_by) if made_by else None
        if len(parts) == 1:
            made_by = self._local(scope, parts[0])
            return Receiver("new", made_by) if made_by else None
        return None

    def _own(self, name: str) -> str:
        return f"{self.module}.{name}" if self.module else name

    def _binding_scope(self, name: str, scopes: Sequence[ast.AST]) -> tuple[int, ast.AST] | None:
        """The innermost enclosing scope that binds `name` (None: the module's), with its
        index. A class body's names are not visible in the functions nested in it."""
        for index in range(len(scopes) - 1, -1, -1):
            scope = scopes[index]
            if isinstance(scope, ast.ClassDef) and index != len(scopes) - 1:
                continue
            if name in self.scope_names(scope):
                return index, scope
        return None

    def _local(self, function: Function, name: str) -> str | None:
        """What a local assigned once from a call (`client = TaskClient()`) was made by."""
        key = (id(function), name)
        if key not in self._locals:
            found = None
            if scope_bindings(function.body)[name] == 1:
                for statement in iter_statements(function.body, into_definitions=False):
                    value = _assigned(statement, lambda t: isinstance(t, ast.Name) and t.id == name)
                    if value is not None:
                        found = self.qualified(value.func)
            self._locals[key] = found
        return self._locals[key]

    def _attribute(self, cls: ast.ClassDef, attribute: str) -> str | None:
        """What `self.<attribute>` was made by, when a method assigns it once from a call."""
        key = (id(cls), attribute)
        if key not in self._attributes:
            made: list[str | None] = []
            for method in cls.body:
                if not isinstance(method, Function):
                    continue
                self_name = _first_parameter(method)
                for statement in iter_statements(method.body, into_definitions=False):
                    for target in _targets(statement):
                        if (
                            isinstance(target, ast.Attribute)
                            and target.attr == attribute
                            and isinstance(target.value, ast.Name)
                            and target.value.id == self_name
                        ):
                            value = getattr(statement, "value", None)
                            call = value if isinstance(value, ast.Call) else None
                            made.append(self.qualified(call.func) if call is not None else None)
            self._attributes[key] = made[0] if len(made) == 1 else None
        return self._attributes[key]


def _targets(statement: ast.stmt) -> list[ast.expr]:
    if isinstance(statement, ast.Assign):
        return statement.targets
    if isinstance(statement, ast.AnnAssign | ast.AugAssign):
        return [statement.target]
    return []


def _assigned(statement: ast.stmt, matches: Callable[[ast.expr], bool]) -> ast.Call | None:
    if (
        isinstance(statement, ast.Assign | ast.AnnAssign)
        and isinstance(statement.value, ast.Call)
        and any(matches(target) for target in _targets(statement))
    ):
        return statement.value
    return None


def _first_parameter(function: Function) -> str | None:
    positional = [*function.args.posonlyargs, *function.args.args]
    return positional[0].arg if positional else None


def _static(function: Function) -> bool:
    return any(final_name(d) == "staticmethod" for d in function.decorator_list)


def _bound_task(function: Function) -> bool:
    """`@app.task(bind=True)` or `@shared_task(bind=True)`: the first parameter is the task."""
    for decorator in function.decorator_list:
        if isinstance(decorator, ast.Call) and final_name(decorator.func) in (
            "task",
            "shared_task",
        ):
            for keyword in decorator.keywords:
                if (
                    keyword.arg == "bind"
                    and isinstance(keyword.value, ast.Constant)
                    and keyword.value.value is True
                ):
                    return True
    return False
