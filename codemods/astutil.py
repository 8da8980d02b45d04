"""Small `ast` helpers both passes share: literals, module constants, imports and scopes.

Both passes read Python with the standard `ast` module: it is about ten times faster than a libcst
parse and carries line numbers, and neither pass needs whole-module metadata. libcst is only used to
edit the files that change (see rewrite.py).
"""

from __future__ import annotations

import ast
import math
from collections import Counter
from collections.abc import Iterator

from codemods.model import NOT_LITERAL, MaybeValue


def literal_value(node: ast.expr) -> MaybeValue:
    """The value of a scalar literal (`"x"`, `3`, `-1.5`, `True`, `None`), else NOT_LITERAL."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str | int | float | bool | None):
        value: MaybeValue = node.value
    elif (
        isinstance(node, ast.UnaryOp)
        and isinstance(node.op, ast.USub | ast.UAdd)
        and isinstance(node.operand, ast.Constant)
        and isinstance(node.operand.value, int | float)
        and not isinstance(node.operand.value, bool)
    ):
        number: int | float = node.operand.value
        value = -number if isinstance(node.op, ast.USub) else number
    else:
        return NOT_LITERAL
    if isinstance(value, float) and not math.isfinite(value):
        return NOT_LITERAL  # `1e999`: no literal gives it back, and JSON has no infinity
    return value


def final_name(func: ast.expr) -> str | None:
    """`send_task` for `x.y.send_task`, `signature` for `signature`; None for other callees."""
    if isinstance(func, ast.Attribute):
        return func.attr
    if isinstance(func, ast.Name):
        return func.id
    return None


def dotted_name(node: ast.expr) -> tuple[str, ...] | None:
    """`("a", "b", "c")` for `a.b.c`; None for anything that is not a plain dotted name."""
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    parts.append(node.id)
    return tuple(reversed(parts))


def resolve_relative(module: str, is_package: bool, level: int, target: str | None) -> str | None:
    """The absolute module of `from {'.' * level}{target} import ...` written in `module`."""
    if level == 0:
        return target
    parts = module.split(".") if module else []
    if not is_package:
        parts = parts[:-1]
    if level - 1 > len(parts):
        return None
    base = parts[: len(parts) - (level - 1)]
    if target:
        base.append(target)
    return ".".join(base) if base else None


def import_table(tree: ast.Module, module: str, is_package: bool) -> dict[str, str]:
    """Local name -> the dotted name it is bound to by a top-level import.

    `import a.b` binds `a` to `a`; `import a.b as c` binds `c` to `a.b`; `from a import b as c`
    binds `c` to `a.b`. Imports under `if`/`try` at module level count too.
    """
    table: dict[str, str] = {}
    for node in iter_module_statements(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    table[alias.asname] = alias.name
                else:
                    root = alias.name.split(".")[0]
                    table[root] = root
        elif isinstance(node, ast.ImportFrom):
            source = resolve_relative(module, is_package, node.level, node.module)
            if source is None:
                continue
            for alias in node.names:
                if alias.name == "*":
                    continue
                table[alias.asname or alias.name] = f"{source}.{alias.name}"
    return table


def iter_module_statements(tree: ast.Module) -> Iterator[ast.stmt]:
    """Statements that run at module level: the body and the blocks of if/try/with/for/while."""
    return iter_statements(tree.body, into_definitions=False)


def iter_statements(body: list[ast.stmt], *, into_definitions: bool) -> Iterator[ast.stmt]:
    """Statements in source order, nested blocks included; function and class bodies too when
    `into_definitions`. Expressions are not walked, which makes this far cheaper than ast.walk."""
    stack: list[ast.stmt] = list(reversed(body))
    while stack:
        node = stack.pop()
        yield node
        if not into_definitions and isinstance(
            node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef
        ):
            continue
        blocks: list[list[ast.stmt]] = []
        for name in ("body", "orelse", "finalbody"):
            block = getattr(node, name, None)
            if isinstance(block, list):
                blocks.append(block)
        for handler in getattr(node, "handlers", ()):
            blocks.append(handler.body)
        for case in getattr(node, "cases", ()):
            blocks.append(case.body)
        for block in reversed(blocks):
            stack.extend(reversed(block))


def _target_names(target: ast.expr) -> Iterator[str]:
    for node in ast.walk(target):
        if isinstance(node, ast.Name):
            yield node.id


def _bound_names(node: ast.AST) -> Iterator[str]:
    """Names one statement or expression binds in the scope it runs in."""
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        yield node.name
    elif isinstance(node, ast.Assign):
        for target in node.targets:
            yield from _target_names(target)
    elif isinstance(node, ast.AnnAssign | ast.AugAssign):
        if node.value is not None or isinstance(node, ast.AugAssign):
            yield from _target_names(node.target)
    elif isinstance(node, ast.For | ast.AsyncFor):
        yield from _target_names(node.target)
    elif isinstance(node, ast.With | ast.AsyncWith):
        for item in node.items:
            if item.optional_vars is not None:
                yield from _target_names(item.optional_vars)
    elif isinstance(node, ast.Import | ast.ImportFrom):
        for alias in node.names:
            yield (alias.asname or alias.name).split(".")[0]
    elif isinstance(node, ast.NamedExpr):
        yield from _target_names(node.target)
    elif isinstance(node, ast.ExceptHandler) and node.name:
        yield node.name
    elif isinstance(node, ast.Delete):
        for target in node.targets:
            yield from _target_names(target)
    elif isinstance(node, ast.MatchAs | ast.MatchStar) and node.name:
        yield node.name


def _walk_scope(body: list[ast.stmt]) -> Iterator[ast.AST]:
    """Every node of a scope's body, not descending into nested functions, classes or lambdas."""
    stack: list[ast.AST] = list(body)
    while stack:
        node = stack.pop()
        yield node
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            # The decorators and defaults run in this scope; the body does not.
            stack.extend(node.decorator_list)
            if not isinstance(node, ast.ClassDef):
                stack.extend(node.args.defaults)
                stack.extend(d for d in node.args.kw_defaults if d is not None)
            continue
        if isinstance(node, ast.Lambda):
            continue
        stack.extend(ast.iter_child_nodes(node))


def scope_bindings(body: list[ast.stmt]) -> Counter[str]:
    """How often each name is bound in a scope's body (global declarations included)."""
    counts: Counter[str] = Counter()
    for node in _walk_scope(body):
        for name in _bound_names(node):
            counts[name] += 1
    return counts


def statement_bindings(body: list[ast.stmt]) -> Counter[str]:
    """How often each name is bound by the statements of a scope's body (nested blocks included,
    expressions not walked): a cheaper `scope_bindings` that misses only walrus targets."""
    counts: Counter[str] = Counter()
    for node in iter_statements(body, into_definitions=False):
        for name in _bound_names(node):
            counts[name] += 1
        for handler in getattr(node, "handlers", ()):
            if handler.name:
                counts[handler.name] += 1
    return counts


def function_locals(node: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda) -> frozenset[str]:
    """Parameters and locals of a function: the names that shadow module names inside it."""
    args = node.args
    names = {a.arg for a in (*args.posonlyargs, *args.args, *args.kwonlyargs)}
    if args.vararg:
        names.add(args.vararg.arg)
    if args.kwarg:
        names.add(args.kwarg.arg)
    if isinstance(node, ast.Lambda):
        return frozenset(names)
    declared_global: set[str] = set()
    for sub in _walk_scope(node.body):
        if isinstance(sub, ast.Global | ast.Nonlocal):
            declared_global.update(sub.names)
    names.update(scope_bindings(node.body))
    return frozenset(names - declared_global)


def global_rebinds(tree: ast.Module) -> Counter[str]:
    """Names that functions rebind at module level through a `global` declaration."""
    counts: Counter[str] = Counter()
    for node in iter_statements(tree.body, into_definitions=True):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            declared: set[str] = set()
            for sub in iter_statements(node.body, into_definitions=False):
                if isinstance(sub, ast.Global):
                    declared.update(sub.names)
            if declared:
                for name, count in scope_bindings(node.body).items():
                    if name in declared:
                        counts[name] += count
    return counts


def star_imports(tree: ast.Module, module: str, is_package: bool) -> tuple[str, ...]:
    """The modules `from x import *` pulls names from."""
    found = []
    for node in iter_module_statements(tree):
        if isinstance(node, ast.ImportFrom) and any(a.name == "*" for a in node.names):
            source = resolve_relative(module, is_package, node.level, node.module)
            if source is not None:
                found.append(source)
    return tuple(found)


class ScopeTracker(ast.NodeVisitor):
    """A visitor that knows which function and class scopes enclose the node it is at.

    `shadows(name)` is True when an enclosing scope binds `name`, so that the module-level binding
    is not what the name means there. Function locals are computed only when asked.
    """

    def __init__(self) -> None:
        self._scopes: list[ast.AST] = []
        self._locals: dict[int, frozenset[str]] = {}

    def shadows(self, name: str) -> bool:
        for depth, scope in enumerate(reversed(self._scopes)):
            # A class body's names are visible only directly inside it, not in nested functions.
            if isinstance(scope, ast.ClassDef) and depth != 0:
                continue
            if name in self._scope_names(scope):
                return True
        return False

    def _scope_names(self, scope: ast.AST) -> frozenset[str]:
        key = id(scope)
        if key not in self._locals:
            if isinstance(scope, ast.ClassDef):
                self._locals[key] = frozenset(scope_bindings(scope.body))
            elif isinstance(scope, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
                self._locals[key] = function_locals(scope)
            else:  # comprehension
                names: set[str] = set()
                for gen in getattr(scope, "generators", ()):
                    names.update(_target_names(gen.target))
                self._locals[key] = frozenset(names)
        return self._locals[key]

    def _visit_function(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        # Decorators, defaults and annotations are evaluated in the enclosing scope.
        for decorator in node.decorator_list:
            self.visit(decorator)
        self.visit(node.args)
        if node.returns is not None:
            self.visit(node.returns)
        self._scopes.append(node)
        for statement in node.body:
            self.visit(statement)
        self._scopes.pop()

    visit_FunctionDef = _visit_function
    visit_AsyncFunctionDef = _visit_function

    def visit_arguments(self, node: ast.arguments) -> None:
        for default in (*node.defaults, *node.kw_defaults):
            if default is not None:
                self.visit(default)

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        for expr in (*node.decorator_list, *node.bases, *node.keywords):
            self.visit(expr)
        self._scopes.append(node)
        for statement in node.body:
            self.visit(statement)
        self._scopes.pop()

    def visit_BinOp(self, node: ast.BinOp) -> None:
        """`a + b + c + ...` is a tree as deep as the chain is long: visit its operands in a
        loop, not by recursion (a 600-term string concatenation is ordinary generated code)."""
        operands: list[ast.expr] = []
        stack: list[ast.expr] = [node]
        while stack:
            current = stack.pop()
            if isinstance(current, ast.BinOp) and type(current.op) is type(node.op):
                stack.append(current.right)
                stack.append(current.left)
            else:
                operands.append(current)
        for operand in operands:
            self.visit(operand)

    def _visit_scoped_expression(self, node: ast.AST) -> None:
        self._scopes.append(node)
        self.generic_visit(node)
        self._scopes.pop()

    visit_Lambda = _visit_scoped_expression
    visit_ListComp = _visit_scoped_expression
    visit_SetComp = _visit_scoped_expression
    visit_DictComp = _visit_scoped_expression
    visit_GeneratorExp = _visit_scoped_expression
