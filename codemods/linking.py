"""Pass 1, linking: from every module's facts to the task index.

A task's options come, from lowest to highest precedence, from the worker app's literal settings
(`task_ignore_result=True` and the other `Task.from_config` keys, which apply only where nothing
else sets the option), the task's base class (`base=`, else the app's `task_cls`) and its bases,
and the decorator (a project wrapper's fixed options, `**DICT` splats, keywords).
"""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace

from codemods.appclasses import AppClasses
from codemods.index import bound_signature
from codemods.model import (
    NOT_LITERAL,
    Alternatives,
    ClassFacts,
    DeclaredTask,
    DecoratorWrapper,
    Diagnostic,
    DictExpr,
    MaybeValue,
    ModuleFacts,
    OptionValue,
    Ref,
    Severity,
    Signature,
    TaskDef,
    TaskIndex,
    ValueExpr,
)
from codemods.symbols import SymbolTable, Unresolved

SHARED_TASK = frozenset({"celery.shared_task", "celery.app.shared_task"})
CELERY_TASK_CLASSES = frozenset({"celery.Task", "celery.app.task.Task"})

# `Task.from_config` (celery/app/task.py): the setting that gives a task attribute its default.
FROM_CONFIG = {
    "task_serializer": "serializer",
    "task_default_rate_limit": "rate_limit",
    "task_default_priority": "priority",
    "task_time_limit": "time_limit",
    "task_soft_time_limit": "soft_time_limit",
    "task_track_started": "track_started",
    "task_acks_late": "acks_late",
    "task_acks_on_failure_or_timeout": "acks_on_failure_or_timeout",
    "task_reject_on_worker_lost": "reject_on_worker_lost",
    "task_ignore_result": "ignore_result",
    "task_store_errors_even_if_ignored": "store_errors_even_if_ignored",
}
# Celery's own defaults for those settings: not "set in code", so never copied.
BUILTIN_DEFAULTS: dict[str, OptionValue] = {
    "task_serializer": "json",
    "task_ignore_result": False,
    "task_acks_late": False,
    "task_track_started": False,
}

# Keywords a task decorator understands: its own, and the Task attributes it sets.
STRUCTURAL_KEYWORDS = frozenset(
    {
        "name",
        "base",
        "bind",
        "shared",
        "lazy",
        "filter",
        "pydantic",
        "pydantic_strict",
        "pydantic_context",
        "pydantic_dump_kwargs",
    }
)
TASK_OPTIONS = frozenset(
    {
        "queue",
        "routing_key",
        "exchange",
        "priority",
        "expires",
        "serializer",
        "delivery_mode",
        "compression",
        "time_limit",
        "soft_time_limit",
        "immediate",
        "mandatory",
        "ignore_result",
        "store_errors_even_if_ignored",
        "acks_late",
        "acks_on_failure_or_timeout",
        "reject_on_worker_lost",
        "track_started",
        "rate_limit",
        "max_retries",
        "default_retry_delay",
        "autoretry_for",
        "dont_autoretry_for",
        "retry_kwargs",
        "retry_backoff",
        "retry_backoff_max",
        "retry_jitter",
        "throws",
        "typing",
        "send_events",
        "trail",
        "resultrepr_maxsize",
        "store_eager_result",
        "abstract",
        "autoregister",
        "request_stack",
        "Request",
        "Strategy",
        "backend",
        "shadow_name",
        "retry_on_worker_lost",
        "acks_on_failure",
        "acks_on_timeout",
    }
)
# Task methods a decorator keyword replaces (`on_failure=handler`): known, not typos.
TASK_METHODS = frozenset(
    {"on_failure", "on_success", "on_retry", "on_replace", "on_bound", "after_return",
     "before_start", "run", "retry", "apply", "apply_async", "delay", "signature", "s", "si",
     "subtask", "update_state", "send_event", "replace", "add_to_chord", "map", "starmap",
     "chunks", "AsyncResult", "app", "from_config", "resultrepr_maxsize", "store_eager_result",
     "shadow_name", "request", "push_request", "pop_request", "annotate", "add_around",
     "MaxRetriesExceededError", "OperationalError", "signature_from_request",
     "subtask_from_request", "start_strategy"}
)  # fmt: skip
ROUTE_CONSTANTS = frozenset({"task_routes", "CELERY_TASK_ROUTES", "CELERY_ROUTES"})


def _assign(
    settings: dict[str, tuple[ValueExpr, str]], key: str, value: ValueExpr, path: str
) -> None:
    """A setting made after the earlier ones: it replaces them, or (made on some paths only)
    becomes one more alternative to them."""
    previous = settings.get(key)
    if isinstance(value, Alternatives) and value.maybe_unset and previous is not None:
        before, _ = previous
        if isinstance(before, Alternatives):
            value = Alternatives(
                before.options + value.options, before.lines + value.lines, before.maybe_unset
            )
        else:
            value = Alternatives((before, *value.options), (0, *value.lines), False)
    settings[key] = (value, path)


@dataclass
class _Layers:
    options: dict[str, MaybeValue]
    unresolved: list[str]


def build_index(
    facts: Iterable[ModuleFacts],
    extra: Iterable[TaskDef] = (),
    *,
    symbols: SymbolTable | None = None,
    worker_defaults: dict[str, object] | None = None,
) -> TaskIndex:
    """Link the modules' declarations (and tasks from index files) into one index.

    `symbols` holds the constants of every module read (workers and producers); by default, those
    of `facts`.
    """
    all_facts = sorted(facts, key=lambda f: f.path)
    table = symbols if symbols is not None else SymbolTable.from_facts(all_facts)
    return link(all_facts, table, extra, worker_defaults or {})


def link(
    facts: list[ModuleFacts],
    table: SymbolTable,
    extra: Iterable[TaskDef],
    worker_defaults: Mapping[str, object],
) -> TaskIndex:
    linker = _Linker(facts, table, worker_defaults)
    tasks = linker.tasks()
    index = merge_tasks([*tasks, *extra], linker.diagnostics, routes=linker.routes())
    return replace(index, unindexed=linker.unindexed)


class _Linker:
    def __init__(
        self, facts: list[ModuleFacts], table: SymbolTable, worker_defaults: Mapping[str, object]
    ) -> None:
        self.facts = facts
        self.table = table
        self.worker_defaults = dict(worker_defaults)
        self.diagnostics: list[Diagnostic] = []
        self.unindexed: dict[str, tuple[str, int, str]] = {}
        self.classes: dict[str, ClassFacts] = {}
        self.wrappers: dict[str, DecoratorWrapper] = {}
        # An app's settings in the order the modules (by path) and their statements make them.
        self.app_settings: dict[str, list[tuple[str, ValueExpr, str]]] = defaultdict(list)
        self.defined_apps: set[str] = set()
        self.modules = {f.module for f in facts}
        self.django_settings = next((f.django_settings for f in facts if f.django_settings), None)
        self.app_classes = AppClasses(facts, table.canonical)
        for module_facts in facts:
            for cls in module_facts.classes:
                self.classes[cls.qualname] = cls
            for wrapper in module_facts.wrappers:
                self.wrappers[wrapper.qualname] = wrapper
            for app in module_facts.apps:
                name = table.canonical(app.qualname)
                settings = [(key, value, module_facts.path) for key, value in app.settings]
                if app.defined:
                    self.defined_apps.add(name)
                    self.app_settings[name][:0] = settings
                else:
                    self.app_settings[name].extend(settings)

        self.defined_apps.update(self.app_classes.apps)  # `app = Application()`, a subclass
        for name, (factory, path) in self.app_classes.factory_made.items():
            # `app = create_application()`: the factory's settings come first.
            self.app_settings[name][:0] = [(key, value, path) for key, value in factory.settings]

    # -- apps and their settings --------------------------------------------------------------

    @functools.cache  # noqa: B019 - one linker per run
    def _custom_names(self, app: str | None) -> str | None:
        """Where the app (None: any app) makes task names itself, or None."""
        for name in [app] if app is not None else sorted(self.defined_apps):
            keys = [key for key, _, _ in self.app_settings.get(name, ())]
            found = self.app_classes.custom_names(name, keys)
            if found is not None:
                return found
        return None

    def _report_custom_names(self, task: str, path: str, line: int, where: str) -> None:
        self.unindexed.setdefault(task, (path, line, "custom-task-names"))
        self.diagnostics.append(
            Diagnostic(
                path,
                line,
                "custom-task-names",
                Severity.INFO,
                f"task '{task}' has a generated name, but the app names tasks itself ({where}): "
                "the name cannot be known statically, so the task is not indexed (give it name=, "
                "or pass --index with the live registry from `celery-codemod index --app`)",
            )
        )

    @functools.cache  # noqa: B019 - one linker per run; apps are few, tasks many
    def _settings(self, app: str) -> dict[str, MaybeValue]:
        """An app's literal settings: its config module's, then those set in code. A setting
        made on some paths only is left out unless every path agrees (with a warning)."""
        explicit: dict[str, tuple[ValueExpr, str]] = {}
        for key, value, path in self.app_settings.get(app, ()):
            if key != "**":
                _assign(explicit, key, value, path)
                continue
            uncertain = isinstance(value, Alternatives)
            items = self.table.dict_expr(value.options[0] if uncertain else value)  # type: ignore[union-attr]
            for k, v in items.items if items is not None else ():
                line = value.lines[0] if isinstance(value, Alternatives) else 0
                _assign(explicit, k, Alternatives((v,), (line,), True) if uncertain else v, path)
        resolved: dict[str, MaybeValue] = {}
        source = self.table.resolve(explicit.pop("config_from_object", (NOT_LITERAL, ""))[0])
        namespace = self.table.resolve(explicit.pop("namespace", (NOT_LITERAL, ""))[0])
        if isinstance(source, str):
            module = source.split(":")[0]
            if source == "django.conf:settings" and self.django_settings:
                module = self.django_settings
            for setting in (*FROM_CONFIG, "task_routes"):
                name = f"{namespace}_{setting.upper()}" if isinstance(namespace, str) else setting
                ref = Ref(f"{module}.{name}")
                if setting == "task_routes":
                    if self.table.dict_expr(ref) is not None:
                        resolved[setting] = ref  # type: ignore[assignment]
                    continue
                value, why = self.table.explain(ref)
                if value is not NOT_LITERAL:
                    resolved[setting] = value
                elif why is not None and why.kind == "ambiguous":
                    self._ambiguous_setting(name, why)
        for key, (value, path) in explicit.items():
            if key == "task_routes":
                resolved[key] = value  # type: ignore[assignment]
                continue
            result, why = self.table.explain(value)
            resolved[key] = result
            if key in FROM_CONFIG and isinstance(value, Alternatives) and result is NOT_LITERAL:
                self._uncertain_setting(key, value, path)
            elif key in FROM_CONFIG and why is not None and why.kind == "ambiguous":
                self._ambiguous_setting(key, why)
        return resolved

    def _uncertain_setting(self, key: str, value: Alternatives, path: str) -> None:
        options = [self.table.resolve(option) for option in value.options]
        if all(BUILTIN_DEFAULTS.get(key, NOT_LITERAL) == option for option in options):
            return  # Celery's default on every path: nothing would be copied anyway
        where = " or ".join(f"{path}:{line}" for line in dict.fromkeys(value.lines) if line)
        if value.maybe_unset:
            where += " or not at all"
        self.diagnostics.append(
            Diagnostic(
                path,
                min((line for line in value.lines if line), default=1),
                "ambiguous-binding",
                Severity.WARNING,
                f"worker setting {key} is set at {where}, depending on a branch or an exception; "
                "it is not copied to calls",
            )
        )

    def _ambiguous_setting(self, name: str, why: Unresolved) -> None:
        path, line = why.places[0] if why.places else ("", 1)
        self.diagnostics.append(
            Diagnostic(
                path,
                line,
                "ambiguous-binding",
                Severity.WARNING,
                f"worker setting {name} is not copied to calls: {why.describe()}",
            )
        )

    @functools.cache  # noqa: B019 - one linker per run
    def _defaults(self, app: str | None) -> dict[str, OptionValue]:
        """Options a task of `app` gets from worker settings (None: any app: all must agree)."""
        apps = [app] if app is not None else sorted(self.defined_apps)
        per_app = []
        for name in apps:
            settings = self._settings(name)
            defaults: dict[str, OptionValue] = {}
            for setting, option in FROM_CONFIG.items():
                value = settings.get(setting, NOT_LITERAL)
                if value is NOT_LITERAL or value is None or BUILTIN_DEFAULTS.get(setting) == value:
                    continue
                defaults[option] = value  # type: ignore[assignment]
            per_app.append(defaults)
        agreed = (
            {k: v for k, v in per_app[0].items() if all(d.get(k) == v for d in per_app)}
            if per_app
            else {}
        )
        agreed.update(self.worker_defaults)  # type: ignore[arg-type]
        return agreed

    @functools.cache  # noqa: B019 - one linker per run
    def _task_cls(self, app: str | None) -> str | None:
        apps = [app] if app is not None else sorted(self.defined_apps)
        found = set()
        for name in apps:
            value = {k: v for k, v, _ in self.app_settings.get(name, ())}.get("task_cls")
            if isinstance(value, Ref):
                found.add(value.name)
            else:
                resolved = self.table.resolve(value) if value is not None else None
                if isinstance(resolved, str):
                    found.add(resolved.replace(":", "."))
        return found.pop() if len(found) == 1 else None

    def routes(self) -> tuple[tuple[str, str], ...]:
        """(name or glob, queue) from literal `task_routes` in the indexed trees."""
        sources: list[ValueExpr] = [
            Ref(f"{module}.{name}" if module else name, module)
            for module in sorted(self.modules)
            for name in sorted(ROUTE_CONSTANTS)
            if self.table.binds(module, name)
        ]
        for app in sorted(self.defined_apps):
            route = self._settings(app).get("task_routes")
            if route is not None:
                sources.append(route)
        routes: list[tuple[str, str]] = []
        for source in sources:
            table = self.table.dict_expr(source)
            if table is None:
                continue
            for pattern, target in table.items:
                queue = self.table.resolve(target)
                if isinstance(target, DictExpr):
                    queue = self.table.resolve(dict(target.items).get("queue", NOT_LITERAL))
                if isinstance(queue, str):
                    routes.append((pattern, queue))
        return tuple(dict.fromkeys(routes))

    # -- classes ------------------------------------------------------------------------------

    def _mro(self, name: str | None) -> list[ClassFacts]:
        """The project classes `name` inherits from, nearest first (depth-first)."""
        order: list[ClassFacts] = []
        stack = [name] if name else []
        seen: set[str] = set()
        while stack:
            current = self.table.canonical(stack.pop(0))
            if current in seen or current in CELERY_TASK_CLASSES:
                continue
            seen.add(current)
            cls = self.classes.get(current)
            if cls is not None:
                order.append(cls)
                stack[:0] = list(cls.bases)
            elif current.endswith(".Task") and current[: -len(".Task")] in self.defined_apps:
                app_base = self._task_cls(current[: -len(".Task")])  # `class T(app.Task)`
                if app_base is not None:
                    stack.insert(0, app_base)
        return order

    def _class_layers(self, mro: list[ClassFacts], layers: _Layers) -> None:
        for cls in reversed(mro):  # the nearest class wins
            for attribute, value in cls.attributes:
                if attribute in TASK_OPTIONS:
                    self._set(layers, attribute, value)

    def _set(
        self,
        layers: _Layers,
        option: str,
        value: ValueExpr,
        declared: DeclaredTask | None = None,
    ) -> None:
        resolved, why = self.table.explain(value)
        if declared is not None and why is not None and why.kind == "ambiguous":
            self._report_ambiguous(declared, f"sets {option}=", why)
        layers.options[option] = resolved
        if resolved is NOT_LITERAL and option not in layers.unresolved:
            layers.unresolved.append(option)
        elif resolved is not NOT_LITERAL and option in layers.unresolved:
            layers.unresolved.remove(option)

    # -- tasks --------------------------------------------------------------------------------

    def _decorator(
        self, name: str, seen: frozenset[str] = frozenset()
    ) -> tuple[str | None, list[DecoratorWrapper]] | str | None:
        """(app or None for shared_task, wrappers on the way) for a task decorator;
        a string naming the app that could not be proved; None for other decorators."""
        canonical = self.table.canonical(name)
        if canonical in SHARED_TASK:
            return None, []
        wrapper = self.wrappers.get(canonical)
        if wrapper is not None and canonical not in seen:
            if not wrapper.simple:
                inside = [self._decorator(c, seen | {canonical}) for c in wrapper.calls]
                if inside and all(found is None for found in inside):
                    return None  # it calls no Celery task decorator (`invoke.task`)
                return f"wrapper:{canonical}"
            inner = self._decorator(wrapper.target, seen | {canonical})
            if isinstance(inner, tuple):
                return inner[0], [*inner[1], wrapper]
            return inner
        if canonical.endswith(".task"):
            app = self.table.canonical(canonical[: -len(".task")])
            if app in self.defined_apps:
                return app, []
            if app not in self.modules and app.split(".")[0] in {
                m.split(".")[0] for m in self.modules
            }:
                return app
        return None

    def tasks(self) -> list[TaskDef]:
        found: list[TaskDef] = []
        for module_facts in self.facts:
            for declared in module_facts.declared:
                task = self._function_task(declared)
                if task is not None:
                    found.append(task)
            for cls_name, line in module_facts.registered:
                task = self._class_task(cls_name, line, module_facts.path)
                if task is not None:
                    found.append(task)
        return found

    def _function_task(self, declared: DeclaredTask) -> TaskDef | None:
        if declared.decorator is None:
            return None
        decorator = self._decorator(declared.decorator)
        if decorator is None:
            return None
        if isinstance(decorator, str):
            self._report_unresolved(declared, decorator)
            return None
        app, wrappers = decorator
        custom = self._custom_names(app) if declared.name is None else None
        if custom is not None:
            self._report_custom_names(declared.function, declared.path, declared.line, custom)
            return None
        name = self._task_name(declared.name, f"{declared.module}.{declared.function}", declared)
        if name is None:
            return None
        layers = _Layers(dict(self._defaults(app)), [])
        mro = self._mro(declared.base or self._task_cls(app))
        self._class_layers(mro, layers)
        for wrapper in wrappers:
            for option, value in wrapper.options:
                if option not in ("name", "base", "bind"):
                    self._set(layers, option, value, declared)
        for label, splat in declared.splats:
            items = self.table.dict_expr(splat)
            if items is None:
                layers.unresolved.append(f"**{label}")
                continue
            for option, value in items.items:
                if option not in ("name", "base", "bind"):
                    self._set(layers, option, value, declared)
        for option, value in declared.options:
            self._set(layers, option, value, declared)
            self._check_keyword(declared, option, mro)
        signature = self._signature(declared, wrappers)
        task = self._make(name, declared.path, declared.line, layers, signature)
        function = (
            f"{declared.module}.{declared.function}" if declared.module else declared.function
        )
        return replace(task, function=function, app=app)

    def _signature(
        self, declared: DeclaredTask, wrappers: list[DecoratorWrapper]
    ) -> Signature | None:
        """How the task is called: the `def` without `self` when it is bound (`bind=` of the
        decorator, of a `**` dict or of a wrapper); None when that cannot be known."""
        if declared.signature is None:
            return None
        bind: ValueExpr = False
        for wrapper in wrappers:  # the outermost wrapper last: its options win
            bind = dict(wrapper.options).get("bind", bind)
        for _, splat in declared.splats:
            items = self.table.dict_expr(splat)
            if items is None:
                return None  # an unreadable `**` may hold bind=True
            bind = dict(items.items).get("bind", bind)
        if declared.bind is not None:
            bind = declared.bind
        value = self.table.resolve(bind)
        if value is NOT_LITERAL or not isinstance(value, bool | int | None):
            return None
        return bound_signature(declared.signature) if value else declared.signature

    def _class_task(self, cls_name: str, line: int, path: str) -> TaskDef | None:
        mro = self._mro(cls_name)
        if not mro:
            return None
        cls = mro[0]
        module, _, short = cls.qualname.rpartition(".")
        name_expr = next((v for c in mro for k, v in c.attributes if k == "name"), None)
        custom = self._custom_names(None) if name_expr is None else None
        if custom is not None:
            self._report_custom_names(short, cls.path, cls.line, custom)
            return None
        name = self.table.resolve(name_expr) if name_expr is not None else f"{module}.{short}"
        if not isinstance(name, str):
            self.diagnostics.append(
                Diagnostic(
                    cls.path,
                    cls.line,
                    "dynamic-name",
                    Severity.WARNING,
                    f"the name of task class '{short}' cannot be read statically; "
                    "calls to it cannot be checked",
                )
            )
            return None
        layers = _Layers(dict(self._defaults(None)), [])
        self._class_layers(mro, layers)
        signature = next((c.signature for c in mro if c.signature is not None), None)
        return replace(
            self._make(name, cls.path, cls.line, layers, signature), function=cls.qualname
        )

    def _task_name(
        self, expr: ValueExpr | None, generated: str, declared: DeclaredTask
    ) -> str | None:
        if expr is None:
            return generated
        name, why = self.table.explain(expr)
        if isinstance(name, str):
            return name
        if why is not None and why.kind == "ambiguous":
            self._report_ambiguous(declared, "takes its name from a name that", why)
            return None
        self.diagnostics.append(
            Diagnostic(
                declared.path,
                declared.line,
                "dynamic-name",
                Severity.WARNING,
                f"the name of task '{declared.function}' cannot be read statically; "
                "calls to it cannot be checked",
            )
        )
        return None

    def _check_keyword(self, declared: DeclaredTask, keyword: str, mro: list[ClassFacts]) -> None:
        if keyword in TASK_OPTIONS or keyword in STRUCTURAL_KEYWORDS or keyword in TASK_METHODS:
            return
        if any(keyword == attribute for cls in mro for attribute, _ in cls.attributes):
            return  # a custom base reads it
        import difflib  # only for a keyword Celery does not know

        close = difflib.get_close_matches(keyword, sorted(TASK_OPTIONS), n=1, cutoff=0.8)
        if close:
            self.diagnostics.append(
                Diagnostic(
                    declared.path,
                    declared.line,
                    "unknown-task-option",
                    Severity.WARNING,
                    f"task '{declared.function}' passes {keyword}=, which Celery does not "
                    f"know and ignores; did you mean {close[0]}=?",
                )
            )

    def _report_ambiguous(self, declared: DeclaredTask, what: str, why: Unresolved) -> None:
        self.diagnostics.append(
            Diagnostic(
                declared.path,
                declared.line,
                "ambiguous-binding",
                Severity.WARNING,
                f"task '{declared.function}' {what} is not a constant: {why.describe()}",
            )
        )

    def _report_unresolved(self, declared: DeclaredTask, what: str) -> None:
        if what.startswith("wrapper:"):
            message = (
                f"task '{declared.function}' uses the decorator '{what[8:]}', which applies a task "
                "decorator in a way the index does not follow; the task is not indexed"
            )
            code = "unresolved-decorator"
        else:
            message = (
                f"cannot tell whether '{what}' is a Celery app; task '{declared.function}' "
                "is not indexed"
            )
            code = "unresolved-app"
        self.unindexed.setdefault(declared.function, (declared.path, declared.line, code))
        self.diagnostics.append(
            Diagnostic(declared.path, declared.line, code, Severity.INFO, message)
        )

    @staticmethod
    def _make(
        name: str, path: str, line: int, layers: _Layers, signature: Signature | None
    ) -> TaskDef:
        options = {k: v for k, v in layers.options.items() if v is not NOT_LITERAL}
        return TaskDef(
            name=name,
            path=path,
            line=line,
            options=options,  # type: ignore[arg-type]
            unresolved_options=tuple(layers.unresolved),
            signature=signature,
        )


def merge_tasks(
    tasks: Iterable[TaskDef],
    diagnostics: Iterable[Diagnostic] = (),
    routes: tuple[tuple[str, str], ...] = (),
) -> TaskIndex:
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
    return TaskIndex(
        tasks=by_name, conflicts=frozenset(conflicts), diagnostics=tuple(found), routes=routes
    )
