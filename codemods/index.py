"""Pass 1, reading: one module's task declarations, as written.

`index_source` (pure) records decorators (`@app.task`, `@shared_task`, aliases, project wrappers
around them), class-based tasks and their registrations, apps and the settings put on them,
constants and imports. Linking them across modules into the index is `linking.build_index`. A
task's name is its `name=` or Celery's generated `module.function`
(https://docs.celeryq.dev/en/stable/userguide/tasks.html#names). A decorator named `task` from
another library (invoke, fabric, locust, prefect) is not a Celery task.
"""

from __future__ import annotations

import ast

from codemods.astutil import (
    dotted_name,
    function_locals,
    iter_module_statements,
    iter_statements,
    star_imports,
)
from codemods.bindings import read_bindings, read_exports
from codemods.layout import absolute_imports
from codemods.model import (
    AppFacts,
    ClassFacts,
    DeclaredTask,
    DecoratorWrapper,
    ModuleFacts,
    Ref,
    Signature,
    ValueExpr,
)
from codemods.settings import read_settings
from codemods.symbols import ModuleReader

CELERY_CLASSES = frozenset({"celery.Celery", "celery.app.Celery", "celery.app.base.Celery"})
PARTIAL = frozenset({"functools.partial"})
# Methods of an app class that change what the tool may assume: how it names tasks, what its
# send_task accepts.
APP_METHODS = frozenset({"gen_task_name", "send_task"})
CONF_UPDATE = frozenset({"update", "setdefault"})


def index_source(source: str, *, path: str, module: str, is_package: bool = False) -> ModuleFacts:
    """Read one module's declarations. Raises SyntaxError when the source does not parse."""
    return index_tree(ast.parse(source), path=path, module=module, is_package=is_package)


def index_tree(
    tree: ast.Module, *, path: str, module: str, is_package: bool = False
) -> ModuleFacts:
    reader = _ModuleReader(tree, path=path, module=module, is_package=is_package)
    reader.read_module_statements(tree)
    reader.visit(tree)
    return ModuleFacts(
        module=module,
        path=path,
        declared=tuple(reader.declared),
        apps=tuple(reader.apps),
        app_factories=tuple(reader.factories),
        classes=tuple(reader.classes),
        registered=tuple(reader.registered),
        wrappers=tuple(reader.wrappers),
        star_imports=reader.stars,
        django_settings=reader.django_settings,
        bindings=read_bindings(tree, module, is_package, reader.imports),
        exports=read_exports(tree),
        absolute_imports=absolute_imports(tree),
        instances={  # a name assigned once: what it holds is known
            name: callee
            for name, callee in reader.instances.items()
            if reader.assigned[name.rpartition(".")[2]] == 1
        },
    )


def signature_of(node: ast.FunctionDef | ast.AsyncFunctionDef, bind: bool) -> Signature:
    """The function's signature as a task is called: without `self` when bound."""
    signature = _signature_as_written(node)
    return bound_signature(signature) if bind else signature


def bound_signature(signature: Signature) -> Signature:
    """The signature a `bind=True` task is called with: its first parameter is the task."""
    if not signature.positional:
        return signature  # `def f(*args)`: the task goes into args
    return Signature(
        positional=signature.positional[1:],
        required=max(0, signature.required - 1),
        varargs=signature.varargs,
        keyword_only=signature.keyword_only,
        varkw=signature.varkw,
        positional_only=max(0, signature.positional_only - 1),
        required_keyword_only=signature.required_keyword_only,
    )


def _signature_as_written(node: ast.FunctionDef | ast.AsyncFunctionDef) -> Signature:
    args = node.args
    positional = [a.arg for a in (*args.posonlyargs, *args.args)]
    positional_only = len(args.posonlyargs)
    required = len(positional) - len(args.defaults)
    required_kw = tuple(
        a.arg
        for a, default in zip(args.kwonlyargs, args.kw_defaults, strict=True)
        if default is None
    )
    return Signature(
        positional=tuple(positional),
        required=required,
        varargs=args.vararg is not None,
        keyword_only=tuple(a.arg for a in args.kwonlyargs),
        varkw=args.kwarg is not None,
        positional_only=positional_only,
        required_keyword_only=required_kw,
    )


def _reads(node: ast.AST, names: set[str] | frozenset[str]) -> bool:
    """The node reads one of `names`."""
    return any(isinstance(n, ast.Name) and n.id in names for n in ast.walk(node))


def _is_docstring(statement: ast.stmt) -> bool:
    return isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant)


class _ModuleReader(ModuleReader):
    def __init__(self, tree: ast.Module, *, path: str, module: str, is_package: bool) -> None:
        super().__init__(tree, module, is_package)
        self.path = path
        self.stars = star_imports(tree, module, is_package)
        self.declared: list[DeclaredTask] = []
        self.apps: list[AppFacts] = []
        self.factories: list[AppFacts] = []
        self.classes: list[ClassFacts] = []
        self.registered: list[tuple[str, int]] = []
        self.wrappers: list[DecoratorWrapper] = []
        self.django_settings: str | None = None
        self.instances: dict[str, str] = {}
        self.assigned: dict[str, int] = {}

    # -- helpers -------------------------------------------------------------------------------

    def own(self, name: str) -> str:
        return f"{self.module}.{name}" if self.module else name

    def keywords(
        self, call: ast.Call
    ) -> tuple[list[tuple[str, ValueExpr]], list[tuple[str, ValueExpr]]]:
        """A call's keywords as (name, value) pairs, and its `**` splats as (source, value)."""
        named, splats = [], []
        for keyword in call.keywords:
            if keyword.arg is None:
                splats.append((ast.unparse(keyword.value), self.value(keyword.value)))
            else:
                named.append((keyword.arg, self.value(keyword.value)))
        return named, splats

    # -- module-level statements: apps, their settings, wrappers ---------------------------------

    def read_module_statements(self, tree: ast.Module) -> None:
        for node in iter_module_statements(tree):
            if isinstance(node, ast.Assign | ast.AnnAssign) and node.value is not None:
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                for target in targets:
                    self._assignment(target, node.value)
            elif isinstance(node, ast.Expr) and isinstance(node.value, ast.Call):
                self._module_call(node.value)
            elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                self._factory(node)
        # Settings follow Python's binding rules: one set under a branch is not certain.
        for receiver, key, value in read_settings(tree.body, self.setting, self.imports):
            self.apps.append(AppFacts(receiver, False, ((key, value),)))

    def setting(self, node: ast.stmt) -> list[tuple[str, str, ValueExpr]]:
        """The app settings one simple statement makes: (app, setting or "**", value)."""
        if isinstance(node, ast.Assign | ast.AnnAssign) and node.value is not None:
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            found = []
            for target in targets:
                parts = dotted_name(target)
                if parts is None or len(parts) < 2:
                    continue
                receiver = self.qualified(ast.Name(parts[0]))
                if receiver is None:
                    continue
                if len(parts) == 3 and parts[1] == "conf":  # app.conf.task_ignore_result = True
                    found.append((receiver, parts[2], self.value(node.value)))
                elif len(parts) == 2 and parts[1] == "gen_task_name":  # names made another way
                    found.append((receiver, "gen_task_name", self.value(node.value)))
                elif len(parts) == 2 and parts[1] == "Task":  # app.Task = CustomTask
                    base = self.qualified(node.value)
                    if base is not None:
                        found.append((receiver, "task_cls", Ref(base)))
            return found
        if not (isinstance(node, ast.Expr) and isinstance(node.value, ast.Call)):
            return []
        call = node.value
        func = dotted_name(call.func)
        if func is None:
            return []
        receiver = self.qualified(ast.Name(func[0]))
        if receiver is None:
            return []
        if func[-1] in CONF_UPDATE and len(func) >= 3 and func[-2] == "conf":
            settings, splats = self.keywords(call)
            if call.args:
                splats.append((ast.unparse(call.args[0]), self.value(call.args[0])))
            items = [(receiver, key, value) for key, value in settings]
            items += [(receiver, "**", splat) for _, splat in splats]
            return items
        if func[-1] == "config_from_object" and len(func) == 2 and call.args:
            settings, _ = self.keywords(call)
            settings.append(("config_from_object", self.value(call.args[0])))
            return [(receiver, key, value) for key, value in settings]
        return []

    def _makes_app(self, call: ast.Call) -> str | None:
        """What a call that makes a Celery app calls (Celery, or a class or factory named after
        it), or None."""
        callee = self.qualified(call.func)
        if callee is None:
            return None
        if callee in CELERY_CLASSES or "celery" in callee.rsplit(".", 1)[-1].lower():
            return callee
        return None

    def _factory(self, function: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        """A function that makes a Celery app and returns it (`app = Celery(...)`, settings,
        `return app`): an app factory, with the settings its body makes on the app that are
        sure (none that reads a parameter or another local)."""
        made: dict[str, list[ast.Call | None]] = {}
        returned: list[ast.expr] = []
        for node in iter_statements(function.body, into_definitions=False):
            if isinstance(node, ast.Return):
                returned.append(node.value if node.value is not None else ast.Constant(None))
            elif isinstance(node, ast.Assign | ast.AnnAssign | ast.AugAssign):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                for target in targets:
                    if isinstance(target, ast.Name):
                        value = node.value
                        call = value if isinstance(value, ast.Call) and len(targets) == 1 else None
                        made.setdefault(target.id, []).append(
                            call if isinstance(node, ast.Assign) else None
                        )
        names = {r.id for r in returned if isinstance(r, ast.Name)}
        calls = [r for r in returned if isinstance(r, ast.Call)]
        if not returned or len(names) + len(calls) != len(returned) or len(names) + len(calls) != 1:
            return  # one app, returned on every path
        local = next(iter(names), None)
        if local is not None:
            assigned = made.get(local, [])
            if len(assigned) != 1 or assigned[0] is None:
                return
            calls = [assigned[0]]
        call = calls[0]
        callee = self._makes_app(call)
        if callee is None:
            return
        others = function_locals(function) - ({local} if local else set())
        settings = [
            (key, value)
            for key, value, node in self._factory_keywords(call)
            if not _reads(node, others)
        ]
        if local is not None:
            receiver = self.own(local)

            def read(node: ast.stmt) -> list[tuple[str, str, ValueExpr]]:
                if _reads(node, others):
                    return []  # a value of the function's own: not known here
                return [item for item in self.setting(node) if item[0] == receiver]

            settings += [(k, v) for _, k, v in read_settings(function.body, read, self.imports)]
        self.factories.append(AppFacts(self.own(function.name), True, tuple(settings), callee))

    def _factory_keywords(self, call: ast.Call) -> list[tuple[str, ValueExpr, ast.expr]]:
        found = [(k.arg, self.value(k.value), k.value) for k in call.keywords if k.arg is not None]
        if call.args and isinstance(call.args[0], ast.Constant):
            found.append(("main", self.value(call.args[0]), call.args[0]))
        return found

    def _assignment(self, target: ast.expr, value: ast.expr) -> None:
        if isinstance(target, ast.Name):
            self.assigned[target.id] = self.assigned.get(target.id, 0) + 1
        if isinstance(target, ast.Name) and isinstance(value, ast.Call):
            callee = self.qualified(value.func)
            if callee is None:
                return
            self.instances[self.own(target.id)] = callee
            if callee in CELERY_CLASSES or "celery" in callee.rsplit(".", 1)[-1].lower():
                settings, _ = self.keywords(value)
                if value.args and isinstance(value.args[0], ast.Constant):
                    settings.append(("main", self.value(value.args[0])))
                app = AppFacts(self.own(target.id), True, tuple(settings), factory=callee)
                self.apps.append(app)
            elif callee in PARTIAL and value.args:
                wrapped = self.qualified(value.args[0])
                if wrapped is not None:
                    options, _ = self.keywords(value)
                    self.wrappers.append(
                        DecoratorWrapper(self.own(target.id), wrapped, tuple(options))
                    )
            elif value.keywords and not value.args and callee.endswith((".task", "shared_task")):
                # fast_task = app.task(queue="fast") or shared_task(...): a decorator with fixed
                # options.
                options, _ = self.keywords(value)
                self.wrappers.append(DecoratorWrapper(self.own(target.id), callee, tuple(options)))

    def _module_call(self, call: ast.Call) -> None:
        func = dotted_name(call.func)
        if func is None:
            return
        if (
            func[-1] == "setdefault"
            and len(call.args) == 2
            and isinstance(call.args[0], ast.Constant)
            and call.args[0].value == "DJANGO_SETTINGS_MODULE"
            and isinstance(call.args[1], ast.Constant)
            and isinstance(call.args[1].value, str)
        ):
            self.django_settings = call.args[1].value

    # -- functions, classes, registrations -------------------------------------------------------

    def _visit_function(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        at_module_level = not self._scopes
        for decorator in node.decorator_list:  # linking keeps those that make a Celery task
            self._declare(node, decorator)
        if at_module_level and node.decorator_list == []:
            self._wrapper_function(node)
        super()._visit_function(node)

    visit_FunctionDef = _visit_function
    visit_AsyncFunctionDef = _visit_function

    def _declare(self, node: ast.FunctionDef | ast.AsyncFunctionDef, decorator: ast.expr) -> None:
        call = decorator if isinstance(decorator, ast.Call) else None
        target = self.qualified(call.func if call is not None else decorator)
        if target is None or target.startswith("builtins.") or target in PARTIAL:
            return
        named, splats = self.keywords(call) if call is not None else ([], [])
        options = [(k, v) for k, v in named if k not in ("name", "base", "bind")]
        keywords = dict(named)
        base = keywords.get("base")
        # A decorator between this one and the `def` (`@app.task` over `@with_session`) makes
        # the task from what it returns, whose signature the `def` does not show.
        innermost = decorator is node.decorator_list[-1]
        self.declared.append(
            DeclaredTask(
                module=self.module,
                function=node.name,
                path=self.path,
                line=decorator.lineno,
                decorator=target,
                name=keywords.get("name"),
                options=tuple(options),
                splats=tuple(splats),
                base=base.name if isinstance(base, Ref) else None,
                signature=_signature_as_written(node) if innermost else None,
                bind=keywords.get("bind"),
            )
        )

    def _wrapper_function(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        """`def D(f): return app.task(...)(f)` or `def D(**kw): return app.task(..., **kw)`."""
        body = [s for s in node.body if not _is_docstring(s)]
        calls_task = [
            c
            for c in ast.walk(node)
            if isinstance(c, ast.Call)
            and (t := dotted_name(c.func))
            and t[-1] in ("task", "shared_task")
        ]
        if not calls_task:
            return
        returned = body[0] if len(body) == 1 else None
        call = returned.value if isinstance(returned, ast.Return) else None
        if isinstance(call, ast.Call) and isinstance(call.func, ast.Call):
            call = call.func  # app.task(...)(f)
        target = self.qualified(call.func) if isinstance(call, ast.Call) else None
        if target is None or not isinstance(call, ast.Call):
            named = [self.qualified(c.func) for c in calls_task]
            calls = tuple(n for n in named if n is not None) if None not in named else ()
            self.wrappers.append(
                DecoratorWrapper(self.own(node.name), "", (), simple=False, calls=calls)
            )
            return
        options, _ = self.keywords(call)
        self.wrappers.append(DecoratorWrapper(self.own(node.name), target, tuple(options)))

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        methods = tuple(
            (statement.name, signature_of(statement, bind=True))
            for statement in node.body
            if isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef)
            and statement.name in APP_METHODS
        )
        if not self._scopes and (node.bases or methods):
            bases = tuple(b for b in (self.qualified(base) for base in node.bases) if b)
            attributes = []
            signature = None
            for statement in node.body:
                if isinstance(statement, ast.Assign) and len(statement.targets) == 1:
                    target, value = statement.targets[0], statement.value
                elif isinstance(statement, ast.AnnAssign) and statement.value is not None:
                    target, value = statement.target, statement.value
                elif isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef):
                    if statement.name == "run":
                        signature = signature_of(statement, bind=True)
                    continue
                else:
                    continue
                if isinstance(target, ast.Name):
                    attributes.append((target.id, self.value(value)))
            self.classes.append(
                ClassFacts(
                    self.own(node.name),
                    self.path,
                    node.lineno,
                    bases,
                    tuple(attributes),
                    signature,
                    methods,
                )
            )
        super().visit_ClassDef(node)

    def generic_visit(self, node: ast.AST) -> None:
        # Declarations are statements: walk the blocks, never into expressions.
        for field in ("body", "orelse", "finalbody", "handlers", "cases"):
            block = getattr(node, field, None)
            if isinstance(block, list):  # a lambda's body is an expression
                for child in block:
                    self.visit(child)

    def visit_Expr(self, node: ast.Expr) -> None:
        self._registration(node.value)

    def visit_Assign(self, node: ast.Assign) -> None:
        self._registration(node.value)

    def _registration(self, node: ast.expr) -> None:
        """`app.register_task(T())`, `app.tasks.register(T())`."""
        if not isinstance(node, ast.Call) or not node.args:
            return
        func = dotted_name(node.func)
        if func is None or len(func) < 2:
            return
        if func[-1] == "register_task" or func[-2:] == ("tasks", "register"):
            registered = node.args[0]
            if isinstance(registered, ast.Call):
                registered = registered.func
            name = self.qualified(registered)
            if name is not None:
                self.registered.append((name, node.lineno))
