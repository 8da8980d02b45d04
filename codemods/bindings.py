"""Module-level bindings as written, in statement order, with the branches they depend on.

Python binds a module's names by running its statements in order: the last binding wins, and a
binding under `if`/`else`, `try`/`except`, a loop or a `match` happens only on some paths. This
module records every binding statement (assignments, imports, star imports, classes, defs, `del`)
so that linking can follow Python's rules once every module is read (symbols.py); it resolves
nothing itself, since a star import's names are only known from the other module.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator

from codemods.astutil import (
    dotted_name,
    iter_statements,
    resolve_relative,
    scope_bindings,
    statement_bindings,
)
from codemods.model import NOT_LITERAL, Binding, BindingStep, Branches, Concat, Ref, ValueExpr
from codemods.symbols import qualify, read_value

ENUM_BASES = frozenset({"enum.Enum", "enum.IntEnum", "enum.StrEnum", "enum.Flag", "enum.IntFlag"})
# Enum classes whose members are themselves strings or ints (usable as the value directly).
VALUE_ENUM_BASES = frozenset({"enum.StrEnum", "enum.IntEnum", "enum.IntFlag", "builtins.str"})
# `with suppress(...)`: the body may stop at any statement, as in a `try` with a silent handler.
SUPPRESS = frozenset({"contextlib.suppress", "suppress"})


def read_bindings(
    tree: ast.Module, module: str, is_package: bool, imports: dict[str, str]
) -> tuple[BindingStep, ...]:
    """Every module-level binding of `tree`, in statement order."""
    reader = _BindingReader(module, is_package, imports)
    steps = reader.block(tree.body)
    rebound = _global_rebinds(tree)
    if rebound:  # a function may rebind these whenever it runs
        maybe = tuple(Binding(name, line, "other") for name, line in sorted(rebound.items()))
        steps.append(Branches(min(rebound.values()), "if", (maybe, ())))
    return tuple(steps)


def read_exports(tree: ast.Module) -> tuple[str, ...] | None:
    """A literal `__all__` (assigned, `+=`, `.extend`, `.append`); None when there is none or it
    is built some other way."""
    names: list[str] = []
    found = False
    for node in tree.body:
        value: ast.expr | None = None
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets
        ):
            names, value = [], node.value
        elif (
            isinstance(node, ast.AugAssign | ast.AnnAssign)
            and isinstance(node.target, ast.Name)
            and node.target.id == "__all__"
        ):
            value = node.value
            if isinstance(node, ast.AnnAssign):
                names = []
        elif (
            isinstance(node, ast.Expr)
            and isinstance(node.value, ast.Call)
            and dotted_name(node.value.func) in (("__all__", "extend"), ("__all__", "append"))
            and len(node.value.args) == 1
        ):
            argument = node.value.args[0]
            value = argument if node.value.func.attr == "extend" else ast.List([argument])  # type: ignore[attr-defined]
        else:
            continue
        strings = _string_list(value)
        if strings is None:
            return None
        names.extend(strings)
        found = True
    return tuple(dict.fromkeys(names)) if found else None


def _string_list(node: ast.expr | None) -> list[str] | None:
    if not isinstance(node, ast.List | ast.Tuple):
        return None
    strings = [
        e.value for e in node.elts if isinstance(e, ast.Constant) and isinstance(e.value, str)
    ]
    return strings if len(strings) == len(node.elts) else None


def _global_rebinds(tree: ast.Module) -> dict[str, int]:
    """Module names that functions rebind through a `global` declaration: name -> def line."""
    found: dict[str, int] = {}
    for node in iter_statements(tree.body, into_definitions=True):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            declared = {
                name
                for sub in iter_statements(node.body, into_definitions=False)
                if isinstance(sub, ast.Global)
                for name in sub.names
            }
            if declared:
                for name in scope_bindings(node.body):
                    if name in declared:
                        found.setdefault(name, node.lineno)
    return found


def is_never_run(test: ast.expr) -> bool:
    """`if TYPE_CHECKING:` and `if __name__ == "__main__":` never run in an imported module."""
    parts = dotted_name(test)
    if parts is not None and parts[-1] == "TYPE_CHECKING":
        return True
    return (
        isinstance(test, ast.Compare)
        and isinstance(test.left, ast.Name)
        and test.left.id == "__name__"
        and len(test.ops) == 1
        and isinstance(test.ops[0], ast.Eq)
        and isinstance(test.comparators[0], ast.Constant)
        and test.comparators[0].value == "__main__"
    )


def is_suppress(expr: ast.expr, imports: dict[str, str]) -> bool:
    """`contextlib.suppress(...)`: the block may stop at any statement, silently."""
    if not isinstance(expr, ast.Call):
        return False
    parts = dotted_name(expr.func)
    return parts is not None and qualify(parts, "", imports) in SUPPRESS


def _target_names(target: ast.expr) -> Iterator[str]:
    for node in ast.walk(target):
        if isinstance(node, ast.Name):
            yield node.id


class _BindingReader:
    def __init__(self, module: str, is_package: bool, imports: dict[str, str]) -> None:
        self.module = module
        self.is_package = is_package
        self.imports = imports

    def value(self, node: ast.expr, line: int) -> ValueExpr:
        return read_value(node, self.module, line=line)

    def block(self, body: list[ast.stmt]) -> list[BindingStep]:
        steps: list[BindingStep] = []
        for node in body:
            self.statement(node, steps)
        return steps

    def statement(self, node: ast.stmt, steps: list[BindingStep]) -> None:
        line = node.lineno
        if isinstance(node, ast.Assign):
            value = self.value(node.value, line)
            for target in node.targets:
                self.assign(target, node.value, value, line, steps)
        elif isinstance(node, ast.AnnAssign):
            if node.value is not None:
                self.assign(node.target, node.value, self.value(node.value, line), line, steps)
        elif isinstance(node, ast.AugAssign):
            if isinstance(node.target, ast.Name):
                steps.append(self.augmented(node, node.target.id))
        elif isinstance(node, ast.Import):
            self.imported(node, steps)
        elif isinstance(node, ast.ImportFrom):
            self.imported_from(node, steps)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            steps.append(Binding(node.name, line, "other"))
        elif isinstance(node, ast.ClassDef):
            steps.append(Binding(node.name, line, "class", attributes=self.attributes(node)))
        elif isinstance(node, ast.If):
            if is_never_run(node.test):
                steps.extend(self.block(node.orelse))
            else:
                self.branches(node, "if", (self.block(node.body), self.block(node.orelse)), steps)
        elif isinstance(node, ast.For | ast.AsyncFor | ast.While):
            body = self.block(node.body)
            if not isinstance(node, ast.While):
                body[:0] = [Binding(n, line, "other") for n in _target_names(node.target)]
            self.branches(node, "loop", (body, self.block(node.orelse)), steps)
        elif isinstance(node, ast.Try) or type(node).__name__ == "TryStar":
            self.tried(node, steps)
        elif isinstance(node, ast.With | ast.AsyncWith):
            names = [
                Binding(n, line, "other")
                for item in node.items
                if item.optional_vars is not None
                for n in _target_names(item.optional_vars)
            ]
            body = [*names, *self.block(node.body)]
            if any(is_suppress(item.context_expr, self.imports) for item in node.items):
                self.branches(node, "try", (body, [], []), steps)
            else:
                steps.extend(body)
        elif isinstance(node, ast.Match):
            self.matched(node, steps)
        elif isinstance(node, ast.Delete):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    steps.append(Binding(target.id, line, "delete"))
        else:
            self.walrus(node, steps)

    def augmented(self, node: ast.AugAssign, name: str) -> Binding:
        """`X += "b"` is `X = X + "b"` for strings; other operators make no constant."""
        line = node.lineno
        if isinstance(node.op, ast.Add):
            right = self.value(node.value, line)
            if right is not NOT_LITERAL:
                own = f"{self.module}.{name}" if self.module else name
                return Binding(name, line, "value", Concat((Ref(own, self.module, line), right)))
        return Binding(name, line, "other")

    def assign(
        self,
        target: ast.expr,
        value_node: ast.expr,
        value: ValueExpr,
        line: int,
        steps: list[BindingStep],
    ) -> None:
        if isinstance(target, ast.Name):
            steps.append(Binding(target.id, line, "value", value))
        elif isinstance(target, ast.Tuple | ast.List):
            pairs = (
                isinstance(value_node, ast.Tuple | ast.List)
                and len(value_node.elts) == len(target.elts)
                and not any(isinstance(e, ast.Starred) for e in (*target.elts, *value_node.elts))
            )
            for position, element in enumerate(target.elts):
                if pairs and isinstance(element, ast.Name):
                    item = value_node.elts[position]  # type: ignore[attr-defined]
                    steps.append(Binding(element.id, line, "value", self.value(item, line)))
                else:
                    steps.extend(Binding(n, line, "other") for n in _target_names(element))
        elif isinstance(target, ast.Starred):
            steps.extend(Binding(n, line, "other") for n in _target_names(target))
        self.walrus(value_node, steps)

    def walrus(self, node: ast.AST, steps: list[BindingStep]) -> None:
        for sub in ast.walk(node):
            if isinstance(sub, ast.NamedExpr) and isinstance(sub.target, ast.Name):
                steps.append(Binding(sub.target.id, sub.lineno, "other"))

    def _submodule(self, target: str, line: int, steps: list[BindingStep]) -> None:
        """Importing a submodule binds its name in its package (this module, when it is it)."""
        parent, _, name = target.rpartition(".")
        if self.is_package and parent == self.module and name:
            steps.append(Binding(name, line, "module", target=target))

    def imported(self, node: ast.Import, steps: list[BindingStep]) -> None:
        for alias in node.names:
            self._submodule(alias.name, node.lineno, steps)
            if alias.asname:
                steps.append(Binding(alias.asname, node.lineno, "module", target=alias.name))
            else:
                root = alias.name.split(".")[0]
                steps.append(Binding(root, node.lineno, "module", target=root))

    def imported_from(self, node: ast.ImportFrom, steps: list[BindingStep]) -> None:
        line = node.lineno
        source = resolve_relative(self.module, self.is_package, node.level, node.module)
        if source is None:
            steps.extend(
                Binding(a.asname or a.name, line, "other") for a in node.names if a.name != "*"
            )
            return
        self._submodule(source, line, steps)
        for alias in node.names:
            if alias.name == "*":
                steps.append(Binding("*", line, "star", target=source))
            else:
                if source == self.module:
                    self._submodule(f"{source}.{alias.name}", line, steps)
                name = alias.asname or alias.name
                steps.append(Binding(name, line, "import", target=f"{source}.{alias.name}"))

    def branches(
        self,
        node: ast.stmt,
        kind: str,
        paths: tuple[list[BindingStep], ...],
        steps: list[BindingStep],
    ) -> None:
        if any(paths):
            steps.append(Branches(node.lineno, kind, tuple(tuple(p) for p in paths)))

    def tried(self, node: ast.stmt, steps: list[BindingStep]) -> None:
        body = self.block(node.body)  # type: ignore[attr-defined]
        orelse = self.block(node.orelse)  # type: ignore[attr-defined]
        handlers = []
        for handler in node.handlers:  # type: ignore[attr-defined]
            path = self.block(handler.body)
            if handler.name:  # `except E as e` binds e, and unbinds it at the end
                end = handler.end_lineno or handler.lineno
                path.append(Binding(handler.name, end, "delete"))
            handlers.append(path)
        if handlers:
            self.branches(node, "try", (body, orelse, *handlers), steps)
        else:  # try/finally: an exception would stop the import itself
            steps.extend(body)
            steps.extend(orelse)
        steps.extend(self.block(node.finalbody))  # type: ignore[attr-defined]

    def matched(self, node: ast.Match, steps: list[BindingStep]) -> None:
        paths: list[list[BindingStep]] = []
        exhaustive = False
        for case in node.cases:
            captured = [
                Binding(sub.name, node.lineno, "other")
                for sub in ast.walk(case.pattern)
                if isinstance(sub, ast.MatchAs | ast.MatchStar) and sub.name
            ]
            paths.append([*captured, *self.block(case.body)])
            pattern = case.pattern
            if case.guard is None and isinstance(pattern, ast.MatchAs) and pattern.pattern is None:
                exhaustive = True
        if not exhaustive:
            paths.append([])
        self.branches(node, "match", tuple(paths), steps)

    def attributes(self, node: ast.ClassDef) -> tuple[tuple[str, ValueExpr], ...]:
        """A class's constants: attributes bound once in its body, and enum members."""
        bases = {
            qualify(parts, self.module, self.imports)
            for parts in (dotted_name(b) for b in node.bases)
            if parts is not None
        }
        bases |= {"builtins.str" for b in node.bases if isinstance(b, ast.Name) and b.id == "str"}
        is_enum = bool(bases & ENUM_BASES)
        members_are_values = bool(bases & VALUE_ENUM_BASES) or not is_enum
        bindings = statement_bindings(node.body)
        found: list[tuple[str, ValueExpr]] = []
        for statement in node.body:
            if isinstance(statement, ast.Assign) and len(statement.targets) == 1:
                target, value_node = statement.targets[0], statement.value
            elif isinstance(statement, ast.AnnAssign) and statement.value and statement.simple:
                target, value_node = statement.target, statement.value
            else:
                continue
            if not isinstance(target, ast.Name) or bindings[target.id] != 1:
                continue
            # Inside a class body, names are looked up in the class first: accept only values
            # that need no lookup, or refer to names the class does not bind.
            value = read_value(
                value_node, self.module, None, lambda n: n in bindings, line=statement.lineno
            )
            if value is NOT_LITERAL:
                continue
            if members_are_values:
                found.append((target.id, value))
            if is_enum:
                found.append((f"{target.id}.value", value))
        return tuple(found)
