"""Records shared by the passes and the edges. Frozen and picklable."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum

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

    def get(self, name: str) -> TaskDef | None:
        return self.tasks.get(name)

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

    @property
    def changed(self) -> bool:
        return self.new_source is not None and self.new_source != self.source


@dataclass(frozen=True, slots=True)
class DeclaredTask:
    """A task declaration seen in one module, before the app behind its decorator is known.

    `app` is the dotted name of the object whose `.task` decorated the function, to be proved a
    Celery app by `build_index`; None for `shared_task`, which is Celery's own.
    """

    task: TaskDef
    app: str | None


@dataclass(frozen=True, slots=True)
class ModuleFacts:
    """What pass 1 reads from one module."""

    module: str
    path: str
    declared: tuple[DeclaredTask, ...] = ()
    # Dotted names bound to a Celery app in this module, e.g. "proj.celery.app".
    apps: frozenset[str] = frozenset()
    # Names bound by imports here -> what they import, e.g. "proj.app" -> "proj.celery.app".
    aliases: Mapping[str, str] = field(default_factory=dict)
    diagnostics: tuple[Diagnostic, ...] = ()


@dataclass(frozen=True, slots=True)
class CallSite:
    """A call that starts a task by name, as written (no index needed to read it)."""

    line: int
    # Rank among the file's candidate calls in source order; the libcst edit finds the call by it.
    ordinal: int
    callee: str
    task: str | None
    # Why `task` is None: "an f-string", "the parameter 'name'", ...
    dynamic_reason: str = ""
    # Options the call gives, by keyword or position, with their values when literal.
    given: Mapping[str, MaybeValue] = field(default_factory=dict)
    # `**kwargs` or `*args` in the call: a new keyword could collide.
    splat: str = ""
    # Number of positional task arguments (`args=[...]`) and keyword names (`kwargs={...}`) when
    # both are literal; None when unknown.
    args_count: int | None = 0
    kwargs_keys: tuple[str, ...] | None = ()
    # From a `# celery-codemod: ignore[...]` comment: everything, or these codes and options.
    ignore_all: bool = False
    ignored: frozenset[str] = frozenset()
