"""Records shared by the passes and the edges. Frozen and picklable."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from functools import cached_property

# A value the tool can copy from a declaration into a call.
OptionValue = str | int | float | bool | None

# The options that make send_task behave as apply_async (see DESIGN.md), in insertion order.
PARITY_OPTIONS: tuple[str, ...] = (
    "ignore_result",
    "serializer",
    "compression",
    "queue",
    "routing_key",
    "exchange",
    "priority",
    "expires",
    "delivery_mode",
)

# Every diagnostic code the tool reports (DESIGN.md's table and the ones it added).
DIAGNOSTIC_CODES = (
    "unknown-task", "dynamic-name", "splat-options", "explicit-override", "non-literal-option",
    "duplicate-task", "argument-mismatch", "parse-error", "unknown-task-option", "result-ignored",
    "routed-by-config", "unsafe-rewrite", "unresolved-app", "unresolved-decorator", "read-error",
    "write-error", "internal-error", "file-too-large", "symlink", "fstring-call",
    "invalid-codeowners", "ambiguous-binding", "custom-task-names", "not-celery-send-task",
    "incomplete-index", "test-file",
)  # fmt: skip

# Celery's own tasks; a call to one of these is never an unknown task.
CELERY_BUILTIN_PREFIX = "celery."


class _NotLiteral:
    """Sentinel: a value is there, but it is not a literal the tool can read."""

    _instance: _NotLiteral | None = None

    def __new__(cls) -> _NotLiteral:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "NOT_LITERAL"

    def __reduce__(self) -> str:
        return "NOT_LITERAL"


NOT_LITERAL = _NotLiteral()
MaybeValue = OptionValue | _NotLiteral


@dataclass(frozen=True, slots=True)
class Ref:
    """A dotted name to look up among the modules' constants, e.g. "proj.names.Names.EVAL".

    `module`, when set, is the module whose code reads the name: its first part after the module
    is one of that module's globals. `line` > 0: module-level code reads it at that line, and sees
    the binding made before it (`X = X + "a"`, a decorator before a rebinding); 0: the binding the
    module ends with (code in functions runs after the import).
    """

    name: str
    module: str | None = None
    line: int = 0


@dataclass(frozen=True, slots=True)
class Concat:
    """An f-string or a `+` of strings: its parts, joined once each is known."""

    parts: tuple[ValueExpr, ...]


@dataclass(frozen=True, slots=True)
class DictExpr:
    """A dict literal with string keys (`COMMON = {"queue": "q"}` for `@app.task(**COMMON)`)."""

    items: tuple[tuple[str, ValueExpr], ...]


@dataclass(frozen=True, slots=True)
class Alternatives:
    """A setting assigned differently depending on a branch or an exception: one of `options`
    (assigned at `lines`), or not assigned at all when `maybe_unset`."""

    options: tuple[ValueExpr, ...]
    lines: tuple[int, ...]
    maybe_unset: bool = False


# A value as written, before names in it are looked up.
ValueExpr = OptionValue | Ref | Concat | DictExpr | Alternatives | _NotLiteral


class Severity(str, Enum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


@dataclass(frozen=True, slots=True)
class Diagnostic:
    path: str
    line: int
    code: str
    severity: Severity
    message: str


@dataclass(frozen=True, slots=True)
class Signature:
    """How a task's function can be called (after `bind=True` drops `self`)."""

    positional: tuple[str, ...]
    required: int
    varargs: bool
    keyword_only: tuple[str, ...]
    varkw: bool
    positional_only: int = 0
    required_keyword_only: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class TaskDef:
    name: str
    path: str
    line: int
    options: Mapping[str, OptionValue] = field(default_factory=dict)
    # Options set to something the tool cannot copy ("**NAME" for a dict splat it cannot read).
    unresolved_options: tuple[str, ...] = ()
    signature: Signature | None = None
    # The dotted name of the declared function (or task class), and of the app whose `.task`
    # declared it (None: `shared_task`, a class, or loaded from an index file).
    function: str = ""
    app: str | None = None

    def same_declaration(self, other: TaskDef) -> bool:
        return (
            dict(self.options) == dict(other.options)
            and self.unresolved_options == other.unresolved_options
        )


@dataclass(frozen=True)
class TaskIndex:
    """Tasks by name; names declared twice with different options are in `conflicts`."""

    tasks: Mapping[str, TaskDef] = field(default_factory=dict)
    conflicts: frozenset[str] = frozenset()
    diagnostics: tuple[Diagnostic, ...] = ()
    # (task name or glob, queue) from literal `task_routes` settings.
    routes: tuple[tuple[str, str], ...] = ()
    # Declared functions the index could not name or prove (custom names, unresolved decorators
    # or apps), by function name: (path, line, the diagnostic code that says why).
    unindexed: Mapping[str, tuple[str, int, str]] = field(default_factory=dict)
    # Modules whose file could not be parsed, so their tasks are unknown: module -> path.
    unparsed: Mapping[str, str] = field(default_factory=dict)

    def get(self, name: str) -> TaskDef | None:
        return self.tasks.get(name)

    @cached_property
    def names(self) -> tuple[str, ...]:
        """Every task name, sorted."""
        return tuple(sorted(self.tasks))

    def __len__(self) -> int:
        return len(self.tasks)


@dataclass(frozen=True, slots=True)
class Change:
    path: str
    line: int
    task: str
    added: Mapping[str, OptionValue]


@dataclass(frozen=True, slots=True)
class FileResult:
    """What pass 2 made of one file. `new_source` is None when nothing changes."""

    path: str
    source: str
    new_source: str | None = None
    changes: tuple[Change, ...] = ()
    diagnostics: tuple[Diagnostic, ...] = ()
    # The file's bytes before and after, when read from disk: the new bytes are the old ones
    # with the encoded insertions spliced in (diffs and writes use them).
    source_bytes: bytes | None = None
    new_bytes: bytes | None = None
    # The file changes as `changes` say, but its new text was not made (a run that shows only
    # which calls change): nothing can print or write it.
    text_not_made: bool = False

    @property
    def changed(self) -> bool:
        return self.text_not_made or (
            self.new_source is not None and self.new_source != self.source
        )


@dataclass(frozen=True, slots=True)
class DeclaredTask:
    """A task declaration as written in one module, before names in it are looked up.

    `decorator` is the dotted name of what decorated the function: an app's `.task` (the app is
    proved a Celery app when modules are linked), Celery's `shared_task`, or a project function
    that wraps them. Class-based tasks have `decorator` None and their class in `base`.
    """

    module: str
    function: str
    path: str
    line: int
    decorator: str | None
    name: ValueExpr | None = None  # None: Celery generates module.function
    options: tuple[tuple[str, ValueExpr], ...] = ()
    splats: tuple[tuple[str, ValueExpr], ...] = ()  # `**COMMON`: ("COMMON", its value)
    base: str | None = None
    # The function's signature as written (`self` included), or None when a decorator between
    # the task decorator and the `def` may change it.
    signature: Signature | None = None
    bind: ValueExpr | None = None  # the decorator's `bind=`, None when it has none


@dataclass(frozen=True, slots=True)
class ClassFacts:
    """A module-level class: maybe a Task subclass, a base for tasks or a holder of constants."""

    qualname: str
    path: str
    line: int
    bases: tuple[str, ...]
    attributes: tuple[tuple[str, ValueExpr], ...] = ()
    signature: Signature | None = None  # of its `run` method
    # Methods that decide whether it behaves as a Celery app: `send_task`, `gen_task_name`.
    methods: tuple[tuple[str, Signature], ...] = ()


@dataclass(frozen=True, slots=True)
class AppFacts:
    """A Celery app made in a module (`defined`), or settings a module puts on an app.

    Settings are Celery's (`task_ignore_result`, `task_routes`, ...) from `Celery(..., x=...)`,
    `app.conf.x = ...` and `app.conf.update(...)`, plus `task_cls` (also from `app.Task = ...`)
    and `config_from_object` / `namespace` from `app.config_from_object(...)`.
    """

    qualname: str
    defined: bool = False
    settings: tuple[tuple[str, ValueExpr], ...] = ()
    # What made a defined app: `celery.Celery`, or a project's subclass or factory.
    factory: str | None = None


@dataclass(frozen=True, slots=True)
class DecoratorWrapper:
    """A project function or name that applies `app.task` / `shared_task` with fixed options."""

    qualname: str
    target: str  # the decorator it wraps, as DeclaredTask.decorator
    options: tuple[tuple[str, ValueExpr], ...] = ()
    simple: bool = True  # False: it calls a task decorator in a way the index does not follow
    # Not simple: what its `.task(...)`/`shared_task(...)` calls call, when they can be named.
    calls: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Binding:
    """One module-level statement binding one name, as written.

    `kind`: "value" (an assignment: `value`), "import" (`from x import y`: `target` "x.y"),
    "module" (`import x.y as z`: `target` "x.y"), "star" (`from x import *`: `target` "x"; `name`
    is "*"), "class" (a class statement: its constant `attributes`, "X" and "X.value" for enum
    members), "delete" (`del x`) or "other" (a def, a loop target, ...: not a constant).
    """

    name: str
    line: int
    kind: str = "value"
    value: ValueExpr = NOT_LITERAL
    target: str = ""
    attributes: tuple[tuple[str, ValueExpr], ...] = ()


@dataclass(frozen=True, slots=True)
class Branches:
    """Module-level statements that run depending on a condition or an exception.

    `kind` "if": `paths` are the body and the else block, one of them runs; "match": a path per
    case, and an empty one when no case may match; "loop": the body, run any number of times,
    then the else block; "try": the body followed by the else block, then one path per handler
    (which runs after any part of the body).
    """

    line: int
    kind: str
    paths: tuple[tuple[BindingStep, ...], ...]


BindingStep = Binding | Branches


@dataclass(frozen=True, slots=True)
class ModuleFacts:
    """What pass 1 reads from one module."""

    module: str
    path: str
    declared: tuple[DeclaredTask, ...] = ()
    apps: tuple[AppFacts, ...] = ()
    # Functions that make and return a Celery app (qualname: the function's), with the settings
    # their bodies make on it: a module-level name a call of one makes is that app.
    app_factories: tuple[AppFacts, ...] = ()
    classes: tuple[ClassFacts, ...] = ()
    # `app.register_task(T())` / `app.tasks.register(T())`: (class, line).
    registered: tuple[tuple[str, int], ...] = ()
    wrappers: tuple[DecoratorWrapper, ...] = ()
    # Superseded by `bindings` (left empty): module-level constants by dotted name.
    constants: Mapping[str, ValueExpr] = field(default_factory=dict)
    # Superseded by `bindings` (left empty): names bound by imports -> what they import.
    aliases: Mapping[str, str] = field(default_factory=dict)
    star_imports: tuple[str, ...] = ()
    # `os.environ.setdefault("DJANGO_SETTINGS_MODULE", "...")`.
    django_settings: str | None = None
    # Every module-level binding in statement order, with the branches they depend on.
    bindings: tuple[BindingStep, ...] = ()
    # A literal `__all__` (what `from module import *` copies); None: the public names.
    exports: tuple[str, ...] | None = None
    # Dotted names imported absolutely (`from a.b import c`: "a.b.c", "a.b"), for source roots.
    absolute_imports: tuple[str, ...] = ()
    # Module-level names bound to what a call of a dotted name made (`client = TaskClient()`).
    instances: Mapping[str, str] = field(default_factory=dict)
    # `bindings` was left out of this record and kept apart (a cached scan): a symbol table
    # given them reads them when a name leads into the module.
    bindings_apart: bool = False


@dataclass(frozen=True, slots=True)
class CallSite:
    """A call (or beat-schedule entry) that starts a task by name, as written."""

    line: int
    # Rank among the file's candidate nodes in source order; the libcst edit finds it by that.
    ordinal: int
    kind: str  # "send_task", "partial" (of send_task), "signature" or "beat"
    task: ValueExpr | None
    # Why `task` cannot be known: "an f-string", "the parameter 'name'", ...
    dynamic_reason: str = ""
    # Options the call gives, by keyword, position or options dict, as written.
    given: Mapping[str, ValueExpr] = field(default_factory=dict)
    # `**kwargs` or `*args` in the call: a new keyword could collide.
    splat: str = ""
    # Where new options go: "keywords", or "options" (into an options dict literal, or a new one).
    target: str = "keywords"
    # Number of positional task arguments and the keyword names, when literal; None when unknown.
    args_count: int | None = 0
    kwargs_keys: tuple[str, ...] | None = ()
    # The call's result is read (`.get()`, `.wait()`, `.ready()`, `.result`).
    result_read: bool = False
    # From a `# celery-codemod: ignore[...]` comment: everything, or these codes and options.
    ignore_all: bool = False
    ignored: frozenset[str] = frozenset()
    # Inside an f-string's replacement field: new text there must respect the string's quotes
    # (and `{call=}` prints the call's own text), so the tool does not edit it.
    in_fstring: bool = False
    # `x.signature(NAME)` on an object that may not be Celery's: only a name that resolves to a
    # string makes it a task call (no dynamic-name for it otherwise).
    tentative: bool = False
    # What `x.send_task(...)` is called on, as far as the module shows (None: not known).
    receiver: Receiver | None = None
    # The arguments written are all the task gets (a call, a beat entry in a schedule); False
    # for a beat-entry template that a scheduler completes at run time, or a signature.
    complete_args: bool = True
    # A beat entry in a comparison or an `assert` (a test's expectation): never edited.
    compared: bool = False


@dataclass(frozen=True, slots=True)
class Receiver:
    """What a `.send_task(...)` call is made on: `kind` "name" is a module-level or imported
    name (`name` dotted, through the imports), "new" an object made by calling `name`, "self"
    the instance of the module-level class `name`, "task" the app of a bound task."""

    kind: str
    name: str = ""


@dataclass(frozen=True, slots=True)
class ScannedCalls:
    """A file's call sites, and the callee names whose calls are counted for the ordinals."""

    sites: tuple[CallSite, ...]
    callees: frozenset[str]
    # The first line of every counted node, in ordinal order, by space ("call", "dict").
    candidate_lines: Mapping[str, tuple[int, ...]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ResultUse:
    """One place a task's result (or its id) reaches, and what happens there.

    `kind` is an evidence kind: "discarded", "read", "canvas-read", "chord-header",
    "result-escapes", "id-escapes", "read-by-id", "explicit-false" or "dynamic-call"; `detail`
    says how ("get", "returned", "passed to a call", ...). `eager`: the task runs in the caller
    (`.apply()`), whose result needs no backend.
    """

    line: int
    kind: str
    detail: str = ""
    eager: bool = False


@dataclass(frozen=True, slots=True)
class TaskStart:
    """An expression that starts a task, and every place its result reaches.

    The task is known by name (`task`, as written: `send_task`, name-based signatures, the
    registry), by the dotted name of the task object (`target`: `add.delay()` with `add`
    imported from `proj.tasks` is "proj.tasks.add"), or not at all (`dynamic` says why).
    `how`: "send_task", "delay", "apply_async", "apply", "signature" (a signature applied or put
    in a canvas).
    `receiver`: for `send_task`, the dotted name of the object it is called on.
    """

    line: int
    how: str
    task: ValueExpr | None = None
    target: str = ""
    dynamic: str = ""
    receiver: str = ""
    uses: tuple[ResultUse, ...] = ()
    # A dynamic receiver that may be any task (`self` in a task class, `current_task`), not
    # only one whose object the module passes on or looks up.
    any_task: bool = False


@dataclass(frozen=True, slots=True)
class ResultFacts:
    """What one module does with task results, as written (names are looked up later).

    `id_reads`: results made from an id the module did not get from a start it can see
    (`AsyncResult(task_id)`, `app.AsyncResult(...)`, `t.AsyncResult(...)`,
    `GroupResult.restore(...)`) and then read: (line, dotted name of the receiver or "").
    `eager`: the module sets `task_always_eager` (or `CELERY_TASK_ALWAYS_EAGER`) to True.
    `apps`: (dotted name, line) of the Celery apps made here; `backends`: (setting, line) of the
    result-backend settings written here.
    """

    starts: tuple[TaskStart, ...] = ()
    id_reads: tuple[tuple[int, str], ...] = ()
    # Task objects looked up at run time: (line, dotted prefix of what may be found, "" for
    # any task): `app.tasks[name]`, `getattr(module, name)`, `import_module(name)`.
    lookups: tuple[tuple[int, str], ...] = ()
    # Objects passed on by their dotted name (`register(add)`, `jobs = [add]`, `f(add.delay)`),
    # maybe tasks, whose holder may start them: (dotted name, first line, how), one per name.
    references: tuple[tuple[str, int, str], ...] = ()
    eager: bool = False
    apps: tuple[tuple[str, int], ...] = ()
    backends: tuple[tuple[str, int], ...] = ()


@dataclass(frozen=True, slots=True)
class FileScan:
    """One file's scan. `facts` is None for a file without hints (it was not parsed)."""

    display: str
    facts: ModuleFacts | None = None
    calls: ScannedCalls | None = None
    problem: Diagnostic | None = None
    digest: bytes = b""  # of the content scanned, for the cache
    # What the module does with task results (`results`); None when the file was not parsed.
    results: ResultFacts | None = None
    # `calls` (call sites there were) was left out of this record and kept apart (a cached scan
    # of a file the run does not plan): the cache has what they look up.
    calls_apart: bool = False


@dataclass(frozen=True, slots=True)
class StatementEdit:
    """Lines `first`..`last` (1-based, inclusive) of a file, as an edit rewrote them."""

    first: int
    last: int
    text: str


@dataclass(frozen=True, slots=True)
class StatementEdits:
    """The statements one planned edit of a file rewrote, in file order."""

    statements: tuple[StatementEdit, ...]
