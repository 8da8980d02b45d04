"""Constants across modules: values as written, and names looked up the way Python binds them.

A value is read into a `ValueExpr` (a literal, a `Ref` to a dotted name, a `Concat` of parts for
f-strings and `+`, a `DictExpr`), then resolved against the `SymbolTable` of every module read:
module constants, class attributes (`Names.X`), enum members (`TaskName.x.value`), followed through
imports, `__init__` re-exports and `from x import *`.

A module's names follow its bindings (bindings.py) in statement order: the last binding wins, a
star import copies what the other module exports at the end of its own run, and a name whose
binding depends on a branch, an exception or an import cycle is ambiguous (not a constant, unless
every alternative has the same value).

Resolution is linear in what it visits: every dotted name, binding value and (module, name) pair
is computed once and memoized. The computations run on an explicit stack, not Python recursion,
so chains of any length resolve; a computation that needs itself is a cycle ("not literal"), and
a string longer than MAX_VALUE_LENGTH is not literal either.
"""

from __future__ import annotations

import ast
import bisect
from collections import ChainMap
from collections.abc import Callable, Generator, Iterable, Mapping, MutableMapping
from dataclasses import dataclass
from typing import Any, Protocol

from codemods.astutil import ScopeTracker, dotted_name, import_table, literal_value
from codemods.model import (
    NOT_LITERAL,
    Alternatives,
    Binding,
    BindingStep,
    Branches,
    Concat,
    DictExpr,
    MaybeValue,
    ModuleFacts,
    Ref,
    ValueExpr,
)

# A resolved string longer than this is not a task name or an option: not literal.
MAX_VALUE_LENGTH = 1024


def qualify(parts: tuple[str, ...], module: str, imports: Mapping[str, str]) -> str:
    """The dotted name `parts` means in `module`: through its imports, else as its own global."""
    head = imports.get(parts[0])
    if head is None:
        head = f"{module}.{parts[0]}" if module else parts[0]
    return ".".join((head, *parts[1:]))


def read_value(
    node: ast.expr,
    module: str,
    imports: Mapping[str, str] | None = None,
    shadowed: Callable[[str], bool] = lambda name: False,
    *,
    line: int = 0,
) -> ValueExpr:
    """A value as written: literals, dotted names, f-strings, `+` and dicts; else NOT_LITERAL.

    A dotted name becomes a `Ref` to the global of `module` it starts with (as read at `line` by
    module-level code, or as the module ends when 0), which linking follows through that module's
    bindings, its imports included (`imports` is not needed for that). A chain of `+` becomes one
    flat `Concat`.
    """
    literal = literal_value(node)
    if literal is not NOT_LITERAL:
        return literal
    parts = dotted_name(node)
    if parts is not None:
        if shadowed(parts[0]):
            return NOT_LITERAL
        return Ref(".".join((module, *parts)) if module else ".".join(parts), module, line)
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
                pieces.append(read_value(value.value, module, None, shadowed, line=line))
            else:
                return NOT_LITERAL
        return NOT_LITERAL if NOT_LITERAL in pieces else Concat(tuple(pieces))
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return _read_sum(node, module, shadowed, line)
    if isinstance(node, ast.Dict):
        items = []
        for key, value in zip(node.keys, node.values, strict=True):
            if not (isinstance(key, ast.Constant) and isinstance(key.value, str)):
                return NOT_LITERAL
            items.append((key.value, read_value(value, module, None, shadowed, line=line)))
        return DictExpr(tuple(items))
    return NOT_LITERAL


def _read_sum(
    node: ast.BinOp, module: str, shadowed: Callable[[str], bool], line: int
) -> ValueExpr:
    """`a + b + c + ...` (a left-nested tree as deep as the chain is long) as one flat Concat."""
    operands: list[ast.expr] = []
    stack: list[ast.expr] = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, ast.BinOp) and isinstance(current.op, ast.Add):
            stack.append(current.right)
            stack.append(current.left)
        else:
            operands.append(current)
    parts: list[ValueExpr] = []
    for operand in operands:
        value = read_value(operand, module, None, shadowed, line=line)
        if value is NOT_LITERAL:
            return NOT_LITERAL
        parts.extend(value.parts if isinstance(value, Concat) else (value,))
    return Concat(tuple(parts))


class ModuleReader(ScopeTracker):
    """A scope-aware visitor of one module that reads values and dotted names as that module
    means them (its imports, not shadowed by a local)."""

    def __init__(self, tree: ast.Module, module: str, is_package: bool) -> None:
        super().__init__()
        self.module = module
        self.imports = import_table(tree, module, is_package)

    def _runs_at_import(self) -> bool:
        """Module-level code (class bodies and comprehensions too) runs while the module loads;
        a function body runs later, when every module-level name is bound."""
        return not any(
            isinstance(s, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda) for s in self._scopes
        )

    def value(self, node: ast.expr) -> ValueExpr:
        line = node.lineno if self._runs_at_import() else 0
        return read_value(node, self.module, None, self.shadows, line=line)

    def qualified(self, node: ast.expr) -> str | None:
        parts = dotted_name(node)
        if parts is None or self.shadows(parts[0]):
            return None
        return qualify(parts, self.module, self.imports)


# -- resolution ------------------------------------------------------------------------------


class _Marker:
    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


UNBOUND = _Marker("UNBOUND")  # an alternative: the name is not bound on that path
CYCLE = _Marker("CYCLE")  # what a computation gets when it needs itself
_ABSENT = _Marker("ABSENT")


class _Alt:
    """One binding a name may have: `binding` in `module` (one object per binding)."""

    __slots__ = ("binding", "module")

    def __init__(self, module: str, binding: Binding) -> None:
        self.module = module
        self.binding = binding


Alts = frozenset[Any]  # of _Alt and UNBOUND


@dataclass(frozen=True, slots=True)
class Unresolved:
    """Why a value is not a constant: "missing" (`name` is not found in the modules read),
    "ambiguous" (bound at `places` depending on a branch, an exception or an import cycle),
    "cycle" (it refers to itself) or "too-long"."""

    kind: str
    name: str = ""
    places: tuple[tuple[str, int], ...] = ()  # (path, line) of each binding
    unbound: bool = False  # "ambiguous": on some paths it is not bound at all
    cause: str = ""

    def describe(self) -> str:
        if self.kind == "ambiguous":
            where = " or ".join(f"{path}:{line}" for path, line in self.places)
            if self.unbound:
                where = f"{where} or not at all" if where else "on some paths only"
            short = self.name.rsplit(".", 1)[-1]
            return f"'{short}' is bound at {where}, depending on {self.cause}"
        if self.kind == "cycle":
            return f"'{self.name.rsplit('.', 1)[-1]}' refers to itself"
        if self.kind == "too-long":
            return f"its value is longer than {MAX_VALUE_LENGTH} characters"
        return f"'{self.name}' is not found"


Result = tuple[MaybeValue, Unresolved | None]


@dataclass(frozen=True, slots=True)
class _Target:
    """What a dotted name stands for. `name` is the dotted name reached (the definition's)."""

    kind: str  # "module", "binding", "attribute", "missing", "ambiguous", "cycle"
    name: str
    module: str = ""
    binding: Binding | None = None
    value: ValueExpr = NOT_LITERAL  # "attribute": the class attribute's value
    alternatives: tuple[_Target, ...] = ()  # "ambiguous": what each binding stands for
    unbound: bool = False  # "ambiguous": the name may also be unbound
    cyclic: bool = False  # "ambiguous": through an import cycle
    places: tuple[tuple[str, int], ...] = ()  # "ambiguous": (path, line) of each binding


class BindingsApart(Protocol):
    """A module's bindings kept apart from its facts (`ModuleFacts.bindings_apart`), read only
    when a name leads into the module."""

    def load(self) -> tuple[BindingStep, ...]: ...

    def mentions(self, name: str) -> bool:
        """False only when no binding of the module can bind `name`."""
        ...


# A module's bindings in statement order: read, or kept apart until needed.
Part = tuple[BindingStep, ...] | BindingsApart


class _Module:
    """One module's bindings, indexed on first use: which top-level steps bind each name."""

    __slots__ = ("exports", "index", "lines", "name", "parts", "path", "sources", "stars", "steps")

    def __init__(
        self,
        name: str,
        path: str,
        steps: tuple[BindingStep, ...],
        exports: tuple[str, ...] | None,
        parts: tuple[Part, ...] = (),
    ) -> None:
        self.name = name
        self.path = path
        # With `parts`, `steps` is read from them when the module is first indexed.
        self.steps = steps
        self.parts = parts
        self.exports = frozenset(exports) if exports is not None else None
        self.index: dict[str, list[int]] | None = None
        self.stars: list[int] = []
        self.sources: tuple[str, ...] = ()
        self.lines: list[int] = []

    def exported(self, name: str) -> bool:
        return name in self.exports if self.exports is not None else not name.startswith("_")

    def may_bind(self, name: str) -> bool:
        """False when the module certainly does not bind `name`, without reading its bindings."""
        if self.index is not None or not self.parts:
            return True
        return any(isinstance(part, tuple) or part.mentions(name) for part in self.parts)


Key = tuple[Any, ...]
Computation = Generator[Key, Any, Any]


class SymbolTable:
    """Every module's bindings, for looking dotted names up the way Python binds them.

    `loader(module)`, when given, returns the facts of a module that was not read yet (or None):
    a name is followed into modules without a scan hint on demand, each read once.
    `apart` holds, by path, the bindings of the facts that were left without them
    (`bindings_apart`): each is read when a name first leads into its module.
    """

    def __init__(
        self,
        facts: Iterable[ModuleFacts] = (),
        loader: Callable[[str], ModuleFacts | None] | None = None,
        apart: Mapping[str, BindingsApart] | None = None,
    ) -> None:
        self._modules: MutableMapping[str, _Module] = {}
        self.loader = loader
        self._apart = apart or {}
        self._tried: set[str] = set()
        self._reset()
        self.add(facts)

    @classmethod
    def from_facts(
        cls, facts: Iterable[ModuleFacts], apart: Mapping[str, BindingsApart] | None = None
    ) -> SymbolTable:
        return cls(facts, apart=apart)

    def _reset(self) -> None:
        self._memo: dict[Key, Any] = {}
        self._alt_objects: dict[int, _Alt] = {}
        self._by_id: dict[int, Binding] = {}
        self._inside_memo: dict[int, tuple[frozenset[str], bool]] = {}
        self._successor_memo: dict[str, tuple[str, ...]] = {}
        self._scc: dict[str, int] = {}
        self._scc_members: list[tuple[str, ...]] = []
        self._cyclic: set[int] = set()

    def add(self, facts: Iterable[ModuleFacts]) -> None:
        """More modules (what was looked up before is looked up again)."""
        for module_facts in facts:
            self._add_module(module_facts)
        self._reset()

    def _add_module(self, facts: ModuleFacts) -> None:
        part: Part = facts.bindings
        if facts.bindings_apart:
            found = self._apart.get(facts.path)
            if found is None:
                raise ValueError(f"{facts.path}: the bindings kept apart were not given")
            part = found
        known = self._modules.get(facts.module)
        if known is None:
            if isinstance(part, tuple):
                module = _Module(facts.module, facts.path, part, facts.exports)
            else:
                module = _Module(facts.module, facts.path, (), facts.exports, (part,))
            self._modules[facts.module] = module
        else:  # two files with one module name: read as one, in path order
            exports = None
            if known.exports is not None or facts.exports is not None:
                exports = (*(known.exports or ()), *(facts.exports or ()))
            parts = (*(known.parts or (known.steps,)), part)
            self._modules[facts.module] = _Module(facts.module, known.path, (), exports, parts)

    def layered(self, module: _Module) -> SymbolTable:
        """This table with one more module on top (the others are shared, not copied)."""
        table = SymbolTable(loader=self.loader)
        table._modules = ChainMap({module.name: module}, self._modules)
        table._tried = self._tried
        return table

    # -- the public questions --------------------------------------------------------------------

    def resolve(self, expr: ValueExpr, missing: set[str] | None = None) -> MaybeValue:
        """The scalar value of an expression, or NOT_LITERAL (a name not found goes into
        `missing`)."""
        if not isinstance(expr, Ref | Concat | DictExpr | Alternatives):
            return expr
        value, why = self.explain(expr)
        if missing is not None and why is not None and why.kind == "missing":
            missing.add(why.name)
        return value

    def explain(self, expr: ValueExpr) -> Result:
        """The value of an expression, and why it is not literal when it is not."""
        if not isinstance(expr, Ref | Concat | DictExpr | Alternatives):
            return expr, None
        if isinstance(expr, Ref):
            result: Result = self._run(("ref", expr.name, expr.module, expr.line))
        else:
            result = self._run(("expr", expr))
        return result

    def lookup(self, name: str, missing: set[str] | None = None) -> ValueExpr:
        """The expression a dotted name is bound to; NOT_LITERAL (and `name` in `missing`) if
        there is none, or it is ambiguous."""
        target = self._target(name)
        if target.kind == "binding" and target.binding is not None:
            return target.binding.value if target.binding.kind == "value" else NOT_LITERAL
        if target.kind == "attribute":
            return target.value
        if missing is not None and target.kind == "missing":
            missing.add(target.name)
        return NOT_LITERAL

    def canonical(self, name: str) -> str:
        """`name` with imports and aliases followed: "proj.app" -> "proj.celery.app"."""
        target = self._target(name)
        seen: set[int] = set()
        while (
            target.kind == "binding"
            and target.binding is not None
            and isinstance(target.binding.value, Ref)
            and id(target.binding) not in seen
        ):
            seen.add(id(target.binding))
            ref = target.binding.value
            target = self._run(("target", ref.name, ref.module, ref.line))
        if target.kind in ("ambiguous", "cycle"):
            return name
        return target.name

    def dict_expr(self, expr: ValueExpr) -> DictExpr | None:
        """The dict literal an expression stands for (through names), or None."""
        if isinstance(expr, DictExpr | None):
            return expr
        if isinstance(expr, Ref | Alternatives):
            found: DictExpr | None = self._run(("dict", expr))
            return found
        return None

    def resolve_dict(
        self, expr: ValueExpr, missing: set[str] | None = None
    ) -> dict[str, MaybeValue] | None:
        """The items of a dict constant (for `**COMMON`), or None when it is not one."""
        found = self.dict_expr(expr)
        if found is None:
            return None
        return {key: self.resolve(value, missing) for key, value in found.items}

    def binds(self, module: str, name: str) -> bool:
        """Whether `module`'s own statements bind `name` (a star import does not count)."""
        known = self._modules.get(module)
        return known is not None and known.may_bind(name) and name in self._prepare(known)

    def modules(self) -> list[str]:
        return list(self._modules)

    def _target(self, name: str) -> _Target:
        found = self._run(("target", name, None, 0))
        return found if isinstance(found, _Target) else _Target("cycle", name)

    # -- the driver: memoized computations on an explicit stack -----------------------------------

    def _run(self, key: Key) -> Any:
        memo = self._memo
        found = memo.get(key, _ABSENT)
        if found is not _ABSENT:
            return found
        stack: list[tuple[Key, Computation]] = [(key, self._start(key))]
        active = {key}
        sent: Any = None
        while stack:
            current, computation = stack[-1]
            try:
                needed = computation.send(sent)
            except StopIteration as done:
                memo[current] = done.value
                active.discard(current)
                stack.pop()
                sent = done.value
                continue
            sent = memo.get(needed, _ABSENT)
            if sent is _ABSENT:
                if needed in active:
                    sent = CYCLE
                else:
                    active.add(needed)
                    stack.append((needed, self._start(needed)))
                    sent = None
        return memo[key]

    def _start(self, key: Key) -> Computation:
        kind = key[0]
        if kind == "alts":
            return self._alts(key[1], key[2], key[3])
        if kind == "scc":
            return self._scc_fixpoint(key[1], key[2])
        if kind == "target":
            return self._resolve_target(key[1], key[2], key[3])
        if kind == "ref":
            return self._ref_value(key[1], key[2], key[3])
        if kind == "value":
            return self._expr(self._by_id[key[1]].value)
        if kind == "attribute":
            return self._expr(key[2])
        if kind == "expr":
            return self._expr(key[1])
        if kind == "dict":
            return self._dict_of(key[1])
        raise AssertionError(key)

    # -- modules and their names ----------------------------------------------------------------

    def _is_module(self, name: str) -> bool:
        if name in self._modules:
            return True
        if self.loader is None or name in self._tried:
            return False
        self._tried.add(name)
        facts = self.loader(name)
        if facts is None:
            return False
        # A module read now was never looked at before: nothing computed so far depends on it.
        self._add_module(facts)
        return name in self._modules

    def _prepare(self, module: _Module) -> dict[str, list[int]]:
        if module.index is None:
            if module.parts:
                module.steps = tuple(
                    step
                    for part in module.parts
                    for step in (part if isinstance(part, tuple) else part.load())
                )
                module.parts = ()
            index: dict[str, list[int]] = {}
            sources: list[str] = []
            for position, step in enumerate(module.steps):
                module.lines.append(step.line)
                if isinstance(step, Binding):
                    if step.kind == "star":
                        module.stars.append(position)
                        sources.append(step.target)
                    else:
                        index.setdefault(step.name, []).append(position)
                else:
                    names, star = self._inside(step)
                    for name in names:
                        index.setdefault(name, []).append(position)
                    if star:
                        module.stars.append(position)
                        sources.extend(_star_sources(step))
            module.sources = tuple(dict.fromkeys(sources))
            module.index = index
        return module.index

    def _inside(self, step: Branches) -> tuple[frozenset[str], bool]:
        """The names a block binds anywhere inside, and whether it holds a star import."""
        found = self._inside_memo.get(id(step))
        if found is None:
            names: set[str] = set()
            star = False
            for path in step.paths:
                for sub in path:
                    if isinstance(sub, Binding):
                        if sub.kind == "star":
                            star = True
                        else:
                            names.add(sub.name)
                    else:
                        inner, inner_star = self._inside(sub)
                        names |= inner
                        star = star or inner_star
            found = (frozenset(names), star)
            self._inside_memo[id(step)] = found
        return found

    def _successors(self, name: str) -> tuple[str, ...]:
        found = self._successor_memo.get(name)
        if found is None:
            module = self._modules[name]
            self._prepare(module)
            found = tuple(s for s in module.sources if self._is_module(s))
            self._successor_memo[name] = found
        return found

    def _component(self, root: str) -> int:
        """The strongly connected component of `root` in the star-import graph (Tarjan's
        algorithm, iterative)."""
        if root in self._scc:
            return self._scc[root]
        order: dict[str, int] = {root: 0}
        low: dict[str, int] = {root: 0}
        stack = [root]
        on_stack = {root}
        work = [(root, iter(self._successors(root)))]
        while work:
            node, successors = work[-1]
            pushed = False
            for successor in successors:
                if successor in self._scc:
                    continue
                if successor not in order:
                    order[successor] = low[successor] = len(order)
                    stack.append(successor)
                    on_stack.add(successor)
                    work.append((successor, iter(self._successors(successor))))
                    pushed = True
                    break
                if successor in on_stack:
                    low[node] = min(low[node], order[successor])
            if pushed:
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == order[node]:
                members = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    members.append(member)
                    if member == node:
                        break
                component = len(self._scc_members)
                self._scc_members.append(tuple(sorted(members)))
                for member in members:
                    self._scc[member] = component
                if len(members) > 1 or node in self._successors(node):
                    self._cyclic.add(component)
        return self._scc[root]

    def _alts(self, module_name: str, name: str, line: int) -> Computation:
        """The bindings `name` may have in `module_name` (at `line`, or when it ends)."""
        module = self._modules[module_name]
        self._prepare(module)
        component = self._component(module_name)
        star: dict[str, Alts] = {}
        if component in self._cyclic:
            yield ("scc", component, name)
            if not line:
                return self._memo[("alts", module_name, name, 0)]
            members = set(self._scc_members[component])
            for source in self._successors(module_name):
                if source in members:
                    star[source] = self._memo[("alts", source, name, 0)] | {UNBOUND}
                else:
                    star[source] = yield ("alts", source, name, 0)
        else:
            for source in self._successors(module_name):
                star[source] = yield ("alts", source, name, 0)
        return self._evaluate(module, name, line, star)

    def _scc_fixpoint(self, component: int, name: str) -> Computation:
        """`name` in every module of a star-import cycle. A star import of a module in the cycle
        may run while that module is half done: it copies its names or not (UNBOUND)."""
        members = self._scc_members[component]
        outside: dict[str, Alts] = {}
        for member in members:
            for source in self._successors(member):
                if self._scc[source] != component and source not in outside:
                    outside[source] = yield ("alts", source, name, 0)
        values: dict[str, Alts] = {member: frozenset() for member in members}
        importers: dict[str, list[str]] = {member: [] for member in members}
        for member in members:
            for source in self._successors(member):
                if source in importers:
                    importers[source].append(member)
        # A worklist: a module is evaluated again only when a module it star-imports changed,
        # and each can change only as often as it gains an alternative.
        pending = list(reversed(members))
        queued = set(members)
        while pending:
            member = pending.pop()
            queued.discard(member)
            star = {
                s: values[s] | {UNBOUND} if s in values else outside[s]
                for s in self._successors(member)
            }
            found = self._evaluate(self._modules[member], name, 0, star)
            if found != values[member]:
                values[member] = found
                for importer in importers[member]:
                    if importer not in queued:
                        queued.add(importer)
                        pending.append(importer)
        for member in members:
            self._memo[("alts", member, name, 0)] = values[member]
        return True

    def _alt(self, module: _Module, binding: Binding) -> Any:
        if binding.kind == "delete":
            return UNBOUND
        found = self._alt_objects.get(id(binding))
        if found is None:
            found = self._alt_objects[id(binding)] = _Alt(module.name, binding)
        return found

    def _evaluate(self, module: _Module, name: str, line: int, star: dict[str, Alts]) -> Alts:
        """Run the module's statements for one name: the set of bindings it may end with."""
        index = self._prepare(module)
        own = index.get(name, ())
        positions = sorted({*own, *module.stars}) if module.stars else list(own)
        limit = bisect.bisect_left(module.lines, line) if line else len(module.steps)
        state: Alts = frozenset((UNBOUND,))
        start = 0
        for i in range(len(positions) - 1, -1, -1):  # from the last plain binding before `line`
            step = module.steps[positions[i]]
            if positions[i] < limit and isinstance(step, Binding) and step.kind != "star":
                state = frozenset((self._alt(module, step),))
                start = i + 1
                break
        for position in positions[start:]:
            if position >= limit:
                break
            state = self._step(module, module.steps[position], name, state, line, star)
        return state

    def _step(
        self,
        module: _Module,
        step: BindingStep,
        name: str,
        state: Alts,
        line: int,
        star: dict[str, Alts],
    ) -> Alts:
        if isinstance(step, Binding):
            if step.kind == "star":
                source = star.get(step.target)
                if source is None or not self._modules[step.target].exported(name):
                    return state  # a module not in the tree binds nothing we can know
                bound = source - {UNBOUND}
                return bound | state if UNBOUND in source else bound
            if step.name != name:
                return state
            return frozenset((self._alt(module, step),))
        names, has_star = self._inside(step)
        if name not in names and not has_star:
            return state

        def run(path: tuple[BindingStep, ...], start: Alts) -> Alts:
            for sub in path:
                if line and sub.line >= line:
                    break
                start = self._step(module, sub, name, start, line, star)
            return start

        if step.kind == "loop":
            body, orelse = step.paths
            looped = state | run(body, state)
            return looped | run(orelse, looped)
        if step.kind == "try":
            body, orelse, *handlers = step.paths
            after_body = run(body, state)
            result = run(orelse, after_body)
            partial = state | after_body  # a handler runs after any part of the body
            for handler in handlers:
                result |= run(handler, partial)
            return result
        result = frozenset()
        for path in step.paths:  # "if", "match": one path runs
            result |= run(path, state)
        return result

    # -- dotted names -----------------------------------------------------------------------------

    def _resolve_target(self, name: str, scope: str | None, line: int) -> Computation:
        parts = name.split(".")
        if (
            scope is not None
            and (not scope or name.startswith(scope + "."))
            and self._is_module(scope)
        ):
            current, position = scope, len(scope.split(".")) if scope else 0
        else:
            line = 0
            for end in range(len(parts), 0, -1):
                prefix = ".".join(parts[:end])
                if self._is_module(prefix):
                    current, position = prefix, end
                    break
            else:
                return _Target("missing", name)
        while position < len(parts):
            attribute = parts[position]
            alts: Alts = yield ("alts", current, attribute, line)
            if line and alts == {UNBOUND}:  # not bound yet where it is read: the final binding
                alts = yield ("alts", current, attribute, 0)
            line = 0
            rest = parts[position + 1 :]
            if alts == {UNBOUND}:
                submodule = f"{current}.{attribute}" if current else attribute
                if self._is_module(submodule):
                    current, position = submodule, position + 1
                    continue
                return _Target("missing", ".".join((submodule, *rest)))
            if len(alts) == 1:
                (alt,) = alts
                return (yield from self._follow(alt, rest))
            targets = []
            places = []
            for alt in sorted(
                (a for a in alts if a is not UNBOUND), key=lambda a: (a.module, a.binding.line)
            ):
                targets.append((yield from self._follow(alt, rest)))
                places.append((self._modules[alt.module].path, alt.binding.line))
            return _Target(
                "ambiguous",
                name,
                alternatives=tuple(targets),
                unbound=UNBOUND in alts,
                cyclic=self._scc.get(current, -1) in self._cyclic,
                places=tuple(places),
            )
        return _Target("module", current)

    def _follow(self, alt: _Alt, rest: list[str]) -> Computation:
        """What a binding, then the attributes `rest` of it, stand for."""
        binding = alt.binding
        own = f"{alt.module}.{binding.name}" if alt.module else binding.name
        self._by_id[id(binding)] = binding
        if binding.kind == "import":
            return (yield from self._target_of(".".join((binding.target, *rest)), None, 0))
        if binding.kind == "module":
            if not self._is_module(binding.target):
                return _Target("missing", ".".join((binding.target, *rest)))
            if not rest:
                return _Target("module", binding.target)
            return (yield from self._target_of(".".join((binding.target, *rest)), None, 0))
        if binding.kind == "class" and rest:
            path = ".".join(rest)
            for key, value in binding.attributes:
                if key == path:
                    return _Target("attribute", f"{own}.{path}", alt.module, binding, value)
            return _Target("missing", f"{own}.{path}")
        if binding.kind == "value" and rest:
            value = binding.value
            if isinstance(value, Ref):
                return (
                    yield from self._target_of(
                        ".".join((value.name, *rest)), value.module, value.line
                    )
                )
            return _Target("missing", ".".join((own, *rest)))
        return _Target("binding", ".".join((own, *rest)), alt.module, binding)

    def _target_of(self, name: str, scope: str | None, line: int) -> Computation:
        found = yield ("target", name, scope, line)
        return found if isinstance(found, _Target) else _Target("cycle", name)

    # -- values -----------------------------------------------------------------------------------

    def _ref_value(self, name: str, scope: str | None, line: int) -> Computation:
        target = yield from self._target_of(name, scope, line)
        return (yield from self._target_value(target))

    def _target_value(self, target: _Target) -> Computation:
        if target.kind == "binding" and target.binding is not None:
            if target.binding.kind != "value":
                return NOT_LITERAL, None
            found = yield ("value", id(target.binding))
            return found if found is not CYCLE else (NOT_LITERAL, Unresolved("cycle", target.name))
        if target.kind == "attribute" and target.binding is not None:
            found = yield ("attribute", id(target.binding), target.value)
            return found if found is not CYCLE else (NOT_LITERAL, Unresolved("cycle", target.name))
        if target.kind == "missing":
            return NOT_LITERAL, Unresolved("missing", target.name)
        if target.kind == "cycle":
            return NOT_LITERAL, Unresolved("cycle", target.name)
        if target.kind == "ambiguous":
            values = []
            for alternative in target.alternatives:
                values.append((yield from self._target_value(alternative))[0])
            first = values[0] if values else NOT_LITERAL
            agreed = first is not NOT_LITERAL and all(
                type(v) is type(first) and v == first for v in values
            )
            if agreed and not target.unbound:
                return first, None
            return NOT_LITERAL, self._ambiguity(target)
        return NOT_LITERAL, None

    def _ambiguity(self, target: _Target) -> Unresolved:
        cause = "an import cycle" if target.cyclic else "a branch or an exception"
        return Unresolved("ambiguous", target.name, target.places, target.unbound, cause)

    def _expr(self, expr: ValueExpr) -> Computation:
        if isinstance(expr, Ref):
            found = yield ("ref", expr.name, expr.module, expr.line)
            return found if found is not CYCLE else (NOT_LITERAL, Unresolved("cycle", expr.name))
        if isinstance(expr, Concat):
            pieces = []
            length = 0
            for part in expr.parts:
                value, why = yield from self._expr(part)
                if not isinstance(value, str):
                    return NOT_LITERAL, why
                length += len(value)
                if length > MAX_VALUE_LENGTH:
                    return NOT_LITERAL, Unresolved("too-long")
                pieces.append(value)
            return "".join(pieces), None
        if isinstance(expr, Alternatives):
            values = []
            for option in expr.options:
                value, why = yield from self._expr(option)
                if value is NOT_LITERAL:
                    return NOT_LITERAL, why
                values.append(value)
            first = values[0] if values else NOT_LITERAL
            if not expr.maybe_unset and all(type(v) is type(first) and v == first for v in values):
                return first, None
            return NOT_LITERAL, Unresolved("ambiguous", cause="a branch or an exception")
        if isinstance(expr, DictExpr):
            return NOT_LITERAL, None
        return expr, None

    def _dict_of(self, expr: ValueExpr) -> Computation:
        """The dict literal behind names (`ROUTES = BASE_ROUTES`), or None."""
        if isinstance(expr, DictExpr):
            return expr
        if isinstance(expr, Alternatives):
            found = []
            for option in expr.options:
                found.append((yield ("dict", option)) if isinstance(option, Ref) else option)
            if not expr.maybe_unset and found and all(f == found[0] for f in found):
                return found[0] if isinstance(found[0], DictExpr) else None
            return None
        if not isinstance(expr, Ref):
            return None
        target = yield from self._target_of(expr.name, expr.module, expr.line)
        if target.kind == "binding" and target.binding is not None:
            value = target.binding.value if target.binding.kind == "value" else None
        elif target.kind == "attribute":
            value = target.value
        else:
            return None
        if isinstance(value, DictExpr):
            return value
        if isinstance(value, Ref | Alternatives):
            found_dict = yield ("dict", value)
            return found_dict if isinstance(found_dict, DictExpr) else None
        return None


def _star_sources(step: Branches) -> list[str]:
    found: list[str] = []
    stack: list[BindingStep] = [step]
    while stack:
        current = stack.pop()
        if isinstance(current, Binding):
            if current.kind == "star":
                found.append(current.target)
        else:
            for path in current.paths:
                stack.extend(reversed(path))
    return found


def with_module(
    table: SymbolTable, tree: ast.Module, module: str, is_package: bool, path: str = ""
) -> SymbolTable:
    """`table` with one more module's bindings on top (the table is not copied)."""
    from codemods.bindings import read_bindings, read_exports

    imports = import_table(tree, module, is_package)
    steps = read_bindings(tree, module, is_package, imports)
    return table.layered(_Module(module, path, steps, read_exports(tree)))
