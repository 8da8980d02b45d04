"""Constants across modules: reading values as written, and looking names up once all are read.

A value is read into a `ValueExpr` (a literal, a `Ref` to a dotted name, a `Concat` of parts for
f-strings and `+`, a `DictExpr`), then resolved against the `SymbolTable` of every module read:
module constants, class attributes (`Names.X`), enum members (`TaskName.x.value`), followed through
imports, `__init__` re-exports and `from x import *`.
"""

from __future__ import annotations

import ast
from collections import ChainMap
from collections.abc import Callable, Iterable, Mapping, MutableMapping
from dataclasses import dataclass, field

from codemods.astutil import (
    ScopeTracker,
    dotted_name,
    global_rebinds,
    import_table,
    literal_value,
    scope_bindings,
    star_imports,
)
from codemods.model import (
    NOT_LITERAL,
    Concat,
    DictExpr,
    MaybeValue,
    ModuleFacts,
    Ref,
    ValueExpr,
)

ENUM_BASES = frozenset({"enum.Enum", "enum.IntEnum", "enum.StrEnum", "enum.Flag", "enum.IntFlag"})
# Enum classes whose members are themselves strings or ints (usable as the value directly).
VALUE_ENUM_BASES = frozenset({"enum.StrEnum", "enum.IntEnum", "enum.IntFlag", "builtins.str"})
MAX_DEPTH = 32


def qualify(parts: tuple[str, ...], module: str, imports: Mapping[str, str]) -> str:
    """The dotted name `parts` means in `module`: through its imports, else as its own global."""
    head = imports.get(parts[0])
    if head is None:
        head = f"{module}.{parts[0]}" if module else parts[0]
    return ".".join((head, *parts[1:]))


def read_value(
    node: ast.expr,
    module: str,
    imports: Mapping[str, str],
    shadowed: Callable[[str], bool] = lambda name: False,
) -> ValueExpr:
    """A value as written: literals, dotted names, f-strings, `+` and dicts; else NOT_LITERAL."""
    literal = literal_value(node)
    if literal is not NOT_LITERAL:
        return literal
    parts = dotted_name(node)
    if parts is not None:
        if shadowed(parts[0]):
            return NOT_LITERAL
        return Ref(qualify(parts, module, imports))
    if isinstance(node, ast.JoinedStr):
        pieces: list[ValueExpr] = []
        for value in node.values:
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                pieces.append(value.value)
            elif (
                isinstance(value, ast.FormattedValue)
                and value.conversion == -1
                and value.format_spec is None
            ):
                pieces.append(read_value(value.value, module, imports, shadowed))
            else:
                return NOT_LITERAL
        return NOT_LITERAL if NOT_LITERAL in pieces else Concat(tuple(pieces))
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left = read_value(node.left, module, imports, shadowed)
        right = read_value(node.right, module, imports, shadowed)
        return NOT_LITERAL if NOT_LITERAL in (left, right) else Concat((left, right))
    if isinstance(node, ast.Dict):
        items = []
        for key, value in zip(node.keys, node.values, strict=True):
            if not (isinstance(key, ast.Constant) and isinstance(key.value, str)):
                return NOT_LITERAL
            items.append((key.value, read_value(value, module, imports, shadowed)))
        return DictExpr(tuple(items))
    return NOT_LITERAL


class ModuleReader(ScopeTracker):
    """A scope-aware visitor of one module that reads values and dotted names as that module
    means them (its imports, not shadowed by a local)."""

    def __init__(self, tree: ast.Module, module: str, is_package: bool) -> None:
        super().__init__()
        self.module = module
        self.imports = import_table(tree, module, is_package)

    def value(self, node: ast.expr) -> ValueExpr:
        return read_value(node, self.module, self.imports, self.shadows)

    def qualified(self, node: ast.expr) -> str | None:
        parts = dotted_name(node)
        if parts is None or self.shadows(parts[0]):
            return None
        return qualify(parts, self.module, self.imports)


def _single_assignment(node: ast.stmt) -> tuple[str, ast.expr] | None:
    if isinstance(node, ast.Assign) and len(node.targets) == 1:
        target, value = node.targets[0], node.value
    elif isinstance(node, ast.AnnAssign) and node.value is not None and node.simple:
        target, value = node.target, node.value
    else:
        return None
    return (target.id, value) if isinstance(target, ast.Name) else None


def module_constants(
    tree: ast.Module, module: str, imports: Mapping[str, str], rebound: Iterable[str] = ()
) -> dict[str, ValueExpr]:
    """Constants by dotted name: names bound once in the module body, class attributes bound once
    in a class body, and enum members (`E.x.value`, and `E.x` when the member is a str or int)."""
    bindings = scope_bindings(tree.body)
    bindings.update(rebound)
    constants: dict[str, ValueExpr] = {}
    prefix = f"{module}." if module else ""
    for node in tree.body:
        assignment = _single_assignment(node)
        if assignment is not None and bindings[assignment[0]] == 1:
            name, value = assignment
            expr = read_value(value, module, imports)
            if expr is not NOT_LITERAL:
                constants[prefix + name] = expr
        elif isinstance(node, ast.ClassDef) and bindings[node.name] == 1:
            constants.update(_class_constants(node, prefix + node.name, module, imports))
    return constants


def _class_constants(
    node: ast.ClassDef, qualname: str, module: str, imports: Mapping[str, str]
) -> dict[str, ValueExpr]:
    bases = {
        qualify(parts, module, imports)
        for parts in (dotted_name(b) for b in node.bases)
        if parts is not None
    }
    bases |= {"builtins.str" for b in node.bases if isinstance(b, ast.Name) and b.id == "str"}
    is_enum = bool(bases & ENUM_BASES)
    members_are_values = bool(bases & VALUE_ENUM_BASES) or not is_enum
    bindings = scope_bindings(node.body)
    constants: dict[str, ValueExpr] = {}
    for statement in node.body:
        assignment = _single_assignment(statement)
        if assignment is None or bindings[assignment[0]] != 1:
            continue
        name, value = assignment
        # Inside a class body, names are looked up in the class first: keep it simple and
        # accept only values that need no lookup, or refer to other modules' names.
        expr = read_value(value, module, imports, shadowed=lambda n: n in bindings)
        if expr is NOT_LITERAL:
            continue
        if members_are_values:
            constants[f"{qualname}.{name}"] = expr
        if is_enum:
            constants[f"{qualname}.{name}.value"] = expr
    return constants


@dataclass
class SymbolTable:
    """Every module's constants and imports, for looking dotted names up."""

    constants: MutableMapping[str, ValueExpr] = field(default_factory=dict)
    aliases: MutableMapping[str, str] = field(default_factory=dict)
    star_imports: MutableMapping[str, tuple[str, ...]] = field(default_factory=dict)

    @classmethod
    def from_facts(cls, facts: Iterable[ModuleFacts]) -> SymbolTable:
        table = cls()
        table.add(facts)
        return table

    def add(self, facts: Iterable[ModuleFacts]) -> None:
        for module_facts in facts:
            self.constants.update(module_facts.constants)
            self.aliases.update(module_facts.aliases)
            if module_facts.star_imports:
                self.star_imports[module_facts.module] = module_facts.star_imports

    def canonical(self, name: str, depth: int = 0) -> str:
        """`name` with imports followed: "proj.app" -> "proj.celery.app"."""
        if depth > MAX_DEPTH:
            return name
        parts = name.split(".")
        for end in range(len(parts), 0, -1):
            prefix = ".".join(parts[:end])
            target = self.aliases.get(prefix)
            if target is None or target == prefix:
                continue
            if end < len(parts) and target.startswith(prefix + "."):
                # `from .app import app` in pkg/__init__ binds pkg.app to pkg.app.app: a name
                # under pkg.app. is already the module's, not the re-exported object's.
                continue
            return self.canonical(".".join([target, *parts[end:]]), depth + 1)
        return name

    def lookup(self, name: str, missing: set[str] | None = None, depth: int = 0) -> ValueExpr:
        """The constant a dotted name stands for; NOT_LITERAL (and `name` in `missing`) if none."""
        if depth > MAX_DEPTH:
            return NOT_LITERAL
        if name in self.constants:
            return self.constants[name]
        canonical = self.canonical(name)
        if canonical in self.constants:
            return self.constants[canonical]
        parts = canonical.split(".")
        for end in range(len(parts) - 1, 0, -1):
            prefix = ".".join(parts[:end])
            bound = self.constants.get(prefix)
            if isinstance(bound, Ref):  # `Names = other.Names`, then `Names.X`
                return self.lookup(".".join([bound.name, *parts[end:]]), missing, depth + 1)
            for source in self.star_imports.get(prefix, ()):
                found = self.lookup(".".join([source, *parts[end:]]), None, depth + 1)
                if found is not NOT_LITERAL:
                    return found
        if missing is not None:
            missing.add(canonical)
        return NOT_LITERAL

    def resolve(
        self, expr: ValueExpr, missing: set[str] | None = None, depth: int = 0
    ) -> MaybeValue:
        """The scalar value of an expression, or NOT_LITERAL."""
        if depth > MAX_DEPTH:
            return NOT_LITERAL
        if isinstance(expr, Ref):
            return self.resolve(self.lookup(expr.name, missing), missing, depth + 1)
        if isinstance(expr, Concat):
            pieces = [self.resolve(part, missing, depth + 1) for part in expr.parts]
            if all(isinstance(p, str) for p in pieces):
                return "".join(pieces)  # type: ignore[arg-type]
            return NOT_LITERAL
        if isinstance(expr, DictExpr):
            return NOT_LITERAL
        return expr

    def resolve_dict(
        self, expr: ValueExpr, missing: set[str] | None = None
    ) -> dict[str, MaybeValue] | None:
        """The items of a dict constant (for `**COMMON`), or None when it is not one."""
        for _ in range(MAX_DEPTH):
            if not isinstance(expr, Ref):
                break
            expr = self.lookup(expr.name, missing)
        if not isinstance(expr, DictExpr):
            return None
        return {key: self.resolve(value, missing) for key, value in expr.items}


def with_module(table: SymbolTable, tree: ast.Module, module: str, is_package: bool) -> SymbolTable:
    """`table` with one more module's constants and imports on top (the table is not copied)."""
    imports = import_table(tree, module, is_package)
    prefix = f"{module}." if module else ""
    return SymbolTable(
        ChainMap(module_constants(tree, module, imports, global_rebinds(tree)), table.constants),
        ChainMap({prefix + k: v for k, v in imports.items()}, table.aliases),
        ChainMap({module: star_imports(tree, module, is_package)}, table.star_imports),
    )
