"""Pass 1: read task declarations from worker source and build the task index.

Recognised: `@app.task`, `@app.task(...)`, `@shared_task`, `@shared_task(...)`,
`@celery.shared_task`, aliased imports, where `app` is a `Celery(...)` instance made in the same
module or imported from another indexed module. A task's name is its `name=` or Celery's generated
`module.function` (https://docs.celeryq.dev/en/stable/userguide/tasks.html#names). A decorator
named `task` from another library (invoke, fabric, locust, prefect) is not a Celery task.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable

from codemods.astutil import (
    ScopeTracker,
    dotted_name,
    import_table,
    iter_module_statements,
    literal_value,
    module_constants,
)
from codemods.model import (
    NOT_LITERAL,
    DeclaredTask,
    Diagnostic,
    MaybeValue,
    ModuleFacts,
    OptionValue,
    Severity,
    Signature,
    TaskDef,
    TaskIndex,
)

CELERY_CLASSES = frozenset({"celery.Celery", "celery.app.Celery", "celery.app.base.Celery"})
SHARED_TASK = frozenset({"celery.shared_task", "celery.app.shared_task"})
# Decorator keywords that shape the task object rather than set an option.
STRUCTURAL_KEYWORDS = frozenset({"name", "bind", "base", "shared", "lazy", "filter", "typing"})


def index_source(source: str, *, path: str, module: str, is_package: bool = False) -> ModuleFacts:
    """Read one module's task declarations. Raises SyntaxError when the source does not parse."""
    return index_tree(ast.parse(source), path=path, module=module, is_package=is_package)


def index_tree(
    tree: ast.Module, *, path: str, module: str, is_package: bool = False
) -> ModuleFacts:
    reader = _DeclarationReader(tree, path=path, module=module, is_package=is_package)
    reader.visit(tree)
    aliases = {f"{module}.{local}": target for local, target in reader.imports.items()}
    return ModuleFacts(
        module=module,
        path=path,
        declared=tuple(reader.declared),
        apps=frozenset(_find_apps(tree, module, reader.imports)),
        aliases=aliases,
        diagnostics=tuple(reader.diagnostics),
    )


def _qualify(parts: tuple[str, ...], module: str, imports: dict[str, str]) -> str:
    head = imports.get(parts[0], f"{module}.{parts[0]}" if module else parts[0])
    return ".".join((head, *parts[1:]))


def _find_apps(tree: ast.Module, module: str, imports: dict[str, str]) -> list[str]:
    """`X = Celery(...)` at module level, and `X = make_celery(...)`-style factories."""
    apps = []
    for node in iter_module_statements(tree):
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target, value = node.targets[0], node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            target, value = node.target, node.value
        else:
            continue
        if not isinstance(target, ast.Name) or not isinstance(value, ast.Call):
            continue
        callee = dotted_name(value.func)
        if callee is None:
            continue
        qualified = _qualify(callee, module, imports)
        if qualified in CELERY_CLASSES or "celery" in callee[-1].lower():
            apps.append(f"{module}.{target.id}" if module else target.id)
    return apps


def _signature(node: ast.FunctionDef | ast.AsyncFunctionDef, bind: bool) -> Signature:
    args = node.args
    positional = [a.arg for a in (*args.posonlyargs, *args.args)]
    positional_only = len(args.posonlyargs)
    required = len(positional) - len(args.defaults)
    if bind and positional:
        positional = positional[1:]
        positional_only = max(0, positional_only - 1)
        required = max(0, required - 1)
    keyword_only = tuple(a.arg for a in args.kwonlyargs)
    required_kw = tuple(
        a.arg
        for a, default in zip(args.kwonlyargs, args.kw_defaults, strict=True)
        if default is None
    )
    return Signature(
        positional=tuple(positional),
        required=required,
        varargs=args.vararg is not None,
        keyword_only=keyword_only,
        varkw=args.kwarg is not None,
        positional_only=positional_only,
        required_keyword_only=required_kw,
    )


class _DeclarationReader(ScopeTracker):
    def __init__(self, tree: ast.Module, *, path: str, module: str, is_package: bool) -> None:
        super().__init__()
        self.path = path
        self.module = module
        self.imports = import_table(tree, module, is_package)
        self.constants = module_constants(tree)
        self.declared: list[DeclaredTask] = []
        self.diagnostics: list[Diagnostic] = []

    def _value(self, node: ast.expr) -> MaybeValue:
        value = literal_value(node)
        if (
            value is NOT_LITERAL
            and isinstance(node, ast.Name)
            and node.id in self.constants
            and not self.shadows(node.id)
        ):
            return self.constants[node.id]
        return value

    def _decorator_app(self, decorator: ast.expr) -> tuple[bool, str | None]:
        """(is a Celery task decorator, the app it hangs off or None for shared_task)."""
        target = decorator.func if isinstance(decorator, ast.Call) else decorator
        parts = dotted_name(target)
        if parts is None or self.shadows(parts[0]):
            return False, None
        qualified = _qualify(parts, self.module, self.imports)
        if qualified in SHARED_TASK:
            return True, None
        if parts[-1] == "task" and len(parts) > 1:
            return True, qualified.rsplit(".", 1)[0]
        return False, None

    def _visit_function(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        for decorator in node.decorator_list:
            is_task, app = self._decorator_app(decorator)
            if is_task:
                self._declare(node, decorator, app)
                break
        super()._visit_function(node)

    visit_FunctionDef = _visit_function
    visit_AsyncFunctionDef = _visit_function

    def _declare(
        self, node: ast.FunctionDef | ast.AsyncFunctionDef, decorator: ast.expr, app: str | None
    ) -> None:
        line = decorator.lineno
        name: str | None = f"{self.module}.{node.name}" if self.module else node.name
        bind = False
        options: dict[str, OptionValue] = {}
        unresolved: list[str] = []
        keywords = decorator.keywords if isinstance(decorator, ast.Call) else []
        for keyword in keywords:
            if keyword.arg is None:
                unresolved.append(f"**{ast.unparse(keyword.value)}")
                continue
            value = self._value(keyword.value)
            if keyword.arg == "name":
                name = value if isinstance(value, str) else None
                if name is None:
                    self.diagnostics.append(
                        self._diagnostic(
                            line,
                            "dynamic-name",
                            Severity.WARNING,
                            f"the name of task '{node.name}' cannot be read statically "
                            f"({ast.unparse(keyword.value)}); calls to it cannot be checked",
                        )
                    )
            elif keyword.arg == "bind":
                bind = value is True
            elif keyword.arg in STRUCTURAL_KEYWORDS:
                continue
            elif value is NOT_LITERAL:
                unresolved.append(keyword.arg)
            else:
                options[keyword.arg] = value  # type: ignore[assignment]
        if name is None:
            return
        task = TaskDef(
            name=name,
            path=self.path,
            line=line,
            options=options,
            unresolved_options=tuple(unresolved),
            signature=_signature(node, bind),
        )
        self.declared.append(DeclaredTask(task=task, app=app))

    def _diagnostic(self, line: int, code: str, severity: Severity, message: str) -> Diagnostic:
        return Diagnostic(self.path, line, code, severity, message)


def _resolve_alias(name: str, aliases: dict[str, str]) -> str:
    seen = set()
    while name in aliases and name not in seen:
        seen.add(name)
        name = aliases[name]
    # `proj.app.sub` where `proj.app` is itself an alias.
    head, _, tail = name.rpartition(".")
    if head and head in aliases and head not in seen:
        return _resolve_alias(f"{_resolve_alias(head, aliases)}.{tail}", aliases)
    return name


def build_index(facts: Iterable[ModuleFacts], extra: Iterable[TaskDef] = ()) -> TaskIndex:
    """Link modules' declarations to their apps, merge by name and report conflicts."""
    all_facts = sorted(facts, key=lambda f: f.path)
    aliases: dict[str, str] = {}
    apps: set[str] = set()
    modules = {f.module for f in all_facts}
    for module_facts in all_facts:
        aliases.update(module_facts.aliases)
        apps.update(module_facts.apps)
    diagnostics: list[Diagnostic] = []
    tasks: list[TaskDef] = []
    for module_facts in all_facts:
        diagnostics.extend(module_facts.diagnostics)
        for declared in module_facts.declared:
            if declared.app is None or _resolve_alias(declared.app, aliases) in apps:
                tasks.append(declared.task)
                continue
            target = _resolve_alias(declared.app, aliases)
            if target in modules or target.split(".")[0] not in {m.split(".")[0] for m in modules}:
                continue  # a module object's `.task` (invoke, locust, ...) or another library's
            diagnostics.append(
                Diagnostic(
                    declared.task.path,
                    declared.task.line,
                    "unresolved-app",
                    Severity.INFO,
                    f"cannot tell whether '{target}' is a Celery app; task "
                    f"'{declared.task.name}' is not indexed",
                )
            )
    return merge_tasks([*tasks, *extra], diagnostics)


def merge_tasks(tasks: Iterable[TaskDef], diagnostics: Iterable[Diagnostic] = ()) -> TaskIndex:
    by_name: dict[str, TaskDef] = {}
    conflicts: set[str] = set()
    found = list(diagnostics)
    for task in tasks:
        first = by_name.setdefault(task.name, task)
        if first is task or first.same_declaration(task):
            continue
        conflicts.add(task.name)
        found.append(
            Diagnostic(
                task.path,
                task.line,
                "duplicate-task",
                Severity.ERROR,
                f"task '{task.name}' is also declared at {first.path}:{first.line} with other "
                "options; calls to it are left unchanged",
            )
        )
    return TaskIndex(tasks=by_name, conflicts=frozenset(conflicts), diagnostics=tuple(found))
