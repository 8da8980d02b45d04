"""Generate a synthetic monorepo for benchmarking celery-codemod.

The tree is a fresh git repository with one commit (fixed author, committer and dates), so two
runs with the same seed and size give the same files and the same commit id. It holds:

- `services/<service>/<package>/...`: ordinary modules of 100 to 300 lines (classes, dataclasses,
  functions with type hints, docstrings, comments, loops, dict literals, f-strings); a few say
  "task" or "signature" as real code does, so cheap byte filters cannot skip them.
- `worker/proj/`: a Celery app (`proj/celery.py`) and task modules declaring tasks in every form
  the tool reads: `@app.task`, `@app.task(...)`, `@shared_task(...)`, an aliased `shared_task`,
  explicit `name=` and generated names, options from module constants.
- producers: about 2% of the modules call `send_task` by name, some with every declared option,
  some missing options, some with unknown names.

What was generated (counts, the task index, the calls that should change) is written to
`.git/celery-bench.json`: inside the repository but never tracked, so the tree stays clean.

    python benchmarks/generate.py --size S --out /tmp/bench-s
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

SIZES = {"S": 1_000, "M": 10_000, "L": 50_000}
DEFAULT_SEED = 1729
MANIFEST = "celery-bench.json"
PROJECT_ROOT = Path(__file__).resolve().parents[1]
PRODUCER_SHARE = 0.02
TASK_WORD_SHARE = 0.05
SIGNATURE_SHARE = 0.01
GIT_DATE = "2024-01-01T12:00:00+0000"
MAX_BODY_LINES = 255  # leaves room for a producer block under 300 lines

# Options the tool copies (DESIGN.md's parity set), in its insertion order.
PARITY = (
    "ignore_result", "serializer", "compression", "queue", "routing_key", "exchange",
    "priority", "expires", "delivery_mode",
)  # fmt: skip

NOUNS = (
    "account", "invoice", "order", "customer", "payment", "report", "user", "session", "message",
    "record", "item", "batch", "ledger", "shipment", "address", "profile", "token", "event",
    "metric", "document", "image", "thumbnail", "export", "catalog", "product", "price",
    "discount", "coupon", "refund", "subscription", "plan", "quota", "tenant", "region", "cluster",
    "node", "bucket", "file", "chunk", "row", "column", "schema", "query", "cursor", "page",
    "feed", "comment", "review", "rating", "vendor", "warehouse", "stock", "carrier", "label",
    "webhook", "digest", "notification", "audit", "policy",
)  # fmt: skip
VERBS = (
    "load", "save", "build", "parse", "render", "validate", "compute", "fetch", "sync", "merge",
    "split", "resolve", "collect", "apply", "update", "refresh", "archive", "restore", "index",
    "score", "normalize", "format", "group", "filter", "rank", "match", "reconcile", "publish",
    "notify", "prepare", "expand", "summarize", "clean", "export", "upload",
)  # fmt: skip
ADJECTIVES = (
    "pending", "active", "stale", "raw", "clean", "daily", "weekly", "remote", "local", "cached",
    "primary", "legacy", "current", "previous", "partial", "total", "unique", "default",
)  # fmt: skip
PHRASES = (
    "{Verb} the {noun} and keep the {noun2} in step.",
    "Return the {adj} {noun} for the given {noun2}.",
    "{Verb} every {noun} that belongs to the {noun2}; the caller owns the result.",
    "Helpers to {verb} {noun}s before they reach the {noun2} service.",
    "The {noun} is {adj} until the {noun2} confirms it.",
    "Small wrapper so tests can {verb} a {noun} without the database.",
    "Keep this in sync with the {noun2} schema in the admin app.",
    "{Verb} {noun}s in bounded batches so memory stays flat.",
    "Compatibility shim for the {adj} {noun} format; remove after the migration.",
)
TASK_PHRASES = (
    "The nightly task re-runs this when the {noun} is {adj}.",
    "TODO: move this into a background task once the {noun} queue exists.",
    "task_list holds the {noun}s still waiting for review.",
)
TYPES = (
    ("int", None), ("str", None), ("float", None), ("bool", None), ("list[str]", None),
    ("dict[str, Any]", ("typing", "Any")), ("Path", ("pathlib", "Path")),
    ("datetime", ("datetime", "datetime")), ("int | None", None),
    ("Sequence[int]", ("collections.abc", "Sequence")),
    ("Mapping[str, str]", ("collections.abc", "Mapping")),
)  # fmt: skip
SERIALIZERS = ("json", "pickle", "msgpack", "yaml")
QUEUE_CONSTANTS = {"FAST": "fast", "SLOW": "slow", "BULK": "bulk"}


# --------------------------------------------------------------------------- records


@dataclass(frozen=True)
class TaskSpec:
    """One declared task, as the tool should index it."""

    name: str
    params: tuple[str, ...]
    required: int
    options: dict[str, Any]  # parity options with their literal values


@dataclass
class Counts:
    files: int = 0
    lines: int = 0
    producer_files: int = 0
    calls: int = 0
    calls_to_change: int = 0
    files_to_change: int = 0
    unknown_calls: int = 0
    task_word_files: int = 0


@dataclass
class Manifest:
    seed: int
    counts: Counts
    tasks: dict[str, dict[str, Any]]

    def summary(self, out: Path) -> str:
        c = self.counts
        return (
            f"generated {out}: {c.files:,} files, {c.lines:,} lines, "
            f"{c.producer_files} files with send_task ({c.calls} calls, {c.calls_to_change} to "
            f"change in {c.files_to_change} files, {c.unknown_calls} unknown names), "
            f"{len(self.tasks)} tasks"
        )


# --------------------------------------------------------------------------- code writer


@dataclass
class Ctx:
    """Per-module generation state: the random stream, names in use and imports needed."""

    rng: random.Random
    nouns: tuple[str, ...] = NOUNS
    used: set[str] = field(default_factory=set)
    imports: dict[tuple[int, str], set[str]] = field(default_factory=dict)

    def need(self, module: str, name: str | None = None, section: int = 0) -> None:
        """Record an import: section 0 stdlib, 1 third party, 2 first party."""
        names = self.imports.setdefault((section, module), set())
        if name:
            names.add(name)

    def noun(self) -> str:
        return self.rng.choice(self.nouns)

    def unique(self, base: str) -> str:
        name, n = base, 2
        while name in self.used:
            name, n = f"{base}_{n}", n + 1
        self.used.add(name)
        return name

    def ident(self) -> str:
        pick = self.rng.random()
        if pick < 0.4:
            return f"{self.rng.choice(ADJECTIVES)}_{self.noun()}"
        if pick < 0.7:
            return f"{self.noun()}_{self.rng.choice(('count', 'ids', 'map', 'rows', 'total'))}"
        return self.noun() + "s"

    def type_hint(self) -> str:
        hint, need = self.rng.choice(TYPES)
        if need:
            self.need(*need)
        return hint

    def sentence(self) -> str:
        rng = self.rng
        verb = rng.choice(VERBS)
        return rng.choice(PHRASES).format(
            verb=verb,
            Verb=verb.capitalize(),
            noun=self.noun(),
            noun2=rng.choice(NOUNS),
            adj=rng.choice(ADJECTIVES),
        )

    def num(self) -> int:
        return self.rng.choice((0, 1, 2, 3, 5, 10, 30, 60, 100, 250, 500, 1000, 3600))


def _quote(text: str) -> str:
    return json.dumps(text)


def _expr(ctx: Ctx, names: list[str]) -> str:
    rng = ctx.rng
    a, b = rng.choice(names), rng.choice(names)
    key, word = rng.choice(NOUNS), rng.choice(VERBS)
    choices = (
        lambda: f"len({a})",
        lambda: f"{a}.get({_quote(key)}, {ctx.num()})",
        lambda: f"[item for item in {a} if item]",
        lambda: f"{{{_quote(key)}: {a}, {_quote(rng.choice(NOUNS))}: {ctx.num()}}}",
        lambda: f'f"{word}-{{{a}}}:{{{b}!r}}"',
        lambda: f"sorted({a}, key=str)",
        lambda: f"{a} or {ctx.num()}",
        lambda: f"max({ctx.num()}, len({a}))",
        lambda: f"str({a}).strip().lower()",
        lambda: f"dict(zip({a}, {b}))",
        lambda: f"sum(1 for _ in {a})",
        lambda: f"{b} * {ctx.num()} + {ctx.num()}",
        lambda: f"{a} is not None and {b} != {ctx.num()}",
        lambda: f"{{k: v for k, v in {a}.items() if v is not None}}",
    )
    return rng.choice(choices)()


def _simple(ctx: Ctx, pad: str, names: list[str]) -> list[str]:
    """One line-ish statement; may bind a new name."""
    rng = ctx.rng
    kind = rng.random()
    if kind < 0.35:
        new = ctx.ident()
        names.append(new)
        return [f"{pad}{new} = {_expr(ctx, names[:-1])}"]
    if kind < 0.45:
        new = ctx.ident()
        names.append(new)
        return [f"{pad}{new}: {ctx.type_hint()} = {_expr(ctx, names[:-1])}"]
    if kind < 0.6:
        level = rng.choice(("debug", "info", "warning"))
        verb = rng.choice(VERBS)
        return [
            f'{pad}logger.{level}("{verb} %s for %s", {rng.choice(names)}, {rng.choice(names)})'
        ]
    if kind < 0.7:
        return [f"{pad}# {ctx.sentence()}"]
    if kind < 0.8:
        method = rng.choice(("append", "update", "add"))
        return [f"{pad}{rng.choice(names)}.{method}({rng.choice(names)})"]
    if kind < 0.9:
        return _dict_literal(ctx, pad, names)
    return [f'{pad}assert {rng.choice(names)} is not None, "{ctx.noun()} is required"']


def _dict_literal(ctx: Ctx, pad: str, names: list[str]) -> list[str]:
    new = ctx.ident()
    keys = ctx.rng.sample(NOUNS, ctx.rng.randint(2, 6))
    lines = [f"{pad}{new} = {{"]
    for key in keys:
        value = ctx.rng.choice((str(ctx.num()), ctx.rng.choice(names), _quote(ctx.noun())))
        lines.append(f"{pad}    {_quote(key)}: {value},")
    names.append(new)
    return [*lines, f"{pad}}}"]


def _compound(ctx: Ctx, pad: str, names: list[str], depth: int) -> list[str]:
    """An if / for / try / with / while block with a nested body."""
    rng = ctx.rng
    inner = pad + "    "
    kind = rng.random()
    if kind < 0.3:
        lines = [f"{pad}if {_expr(ctx, names)}:", *_block(ctx, inner, names, depth + 1, 1, 3)]
        if rng.random() < 0.4:
            lines += [f"{pad}else:", *_block(ctx, inner, names, depth + 1, 1, 2)]
        return lines
    if kind < 0.6:
        item = ctx.noun()
        body = _block(ctx, inner, [*names, item], depth + 1, 1, 3)
        return [f"{pad}for {item} in {rng.choice(names)}:", *body]
    if kind < 0.8:
        err = rng.choice(("KeyError", "ValueError", "OSError", "LookupError", "TimeoutError"))
        return [
            f"{pad}try:",
            *_block(ctx, inner, names, depth + 1, 1, 3),
            f"{pad}except ({err}, TypeError) as exc:",
            f'{inner}logger.warning("could not {rng.choice(VERBS)} {ctx.noun()}: %s", exc)',
            f'{inner}raise RuntimeError(f"{ctx.noun()} failed: {{exc}}") from exc',
        ]
    if kind < 0.9:
        new = ctx.ident()
        names.append(new)
        return [
            f'{pad}with open({rng.choice(names)}, encoding="utf-8") as handle:',
            f"{inner}{new} = handle.read()",
        ]
    return [
        f"{pad}attempts = 0",
        f"{pad}while attempts < {ctx.num() + 1}:",
        f"{inner}attempts += 1",
        f"{inner}if {_expr(ctx, names)}:",
        f"{inner}    break",
    ]


def _block(ctx: Ctx, pad: str, names: list[str], depth: int, low: int, high: int) -> list[str]:
    lines: list[str] = []
    for _ in range(ctx.rng.randint(low, high)):
        if depth < 2 and ctx.rng.random() < 0.3:
            lines += _compound(ctx, pad, names, depth)
        else:
            lines += _simple(ctx, pad, names)
    if all(line.lstrip().startswith("#") for line in lines):
        lines.append(f"{pad}{ctx.ident()} = {_expr(ctx, names)}")  # a body needs a statement
    return lines


def _docstring(ctx: Ctx, pad: str) -> list[str]:
    if ctx.rng.random() < 0.6:
        return [f'{pad}"""{ctx.sentence()}"""']
    return [f'{pad}"""{ctx.sentence()}', "", f"{pad}{ctx.sentence()}", f'{pad}"""']


def _params(ctx: Ctx, count: int) -> tuple[list[str], list[str]]:
    """(parameter names, rendered `name: type` / `name: type = default` parts)."""
    names: list[str] = []
    parts: list[str] = []
    for i in range(count):
        name = _fresh(ctx, names)
        names.append(name)
        hint = ctx.type_hint()
        default = " = None" if i == count - 1 and ctx.rng.random() < 0.3 else ""
        if default and "None" not in hint:
            hint += " | None"
        parts.append(f"{name}: {hint}{default}")
    return names, parts


def _fresh(ctx: Ctx, taken: list[str]) -> str:
    for _ in range(8):
        name = ctx.ident()
        if name not in taken:
            return name
    return f"arg{len(taken)}"


def _signature(pad: str, head: str, parts: list[str], returns: str) -> list[str]:
    """`def f(a: int) -> None:` on one line, or one parameter a line when too long."""
    line = f"{pad}{head}({', '.join(parts)}) -> {returns}:"
    if len(line) <= 99:
        return [line]
    return [f"{pad}{head}(", *(f"{pad}    {p}," for p in parts), f"{pad}) -> {returns}:"]


def _function(
    ctx: Ctx, pad: str = "", *, attrs: tuple[str, ...] = (), method: bool = False, low: int = 3
) -> list[str]:
    rng = ctx.rng
    name = ctx.unique(f"{rng.choice(VERBS)}_{ctx.noun()}")
    names, parts = _params(ctx, rng.randint(1, 3))
    if method:
        parts.insert(0, "self")
    returns = ctx.type_hint() if rng.random() < 0.8 else "None"
    prefix = "async def" if rng.random() < 0.08 else "def"
    body_pad = pad + "    "
    lines = _signature(pad, f"{prefix} {name}", parts, returns)
    lines += _docstring(ctx, body_pad)
    lines += _block(ctx, body_pad, [*names, *(f"self.{a}" for a in attrs)], 0, low, low + 6)
    if returns != "None":
        lines.append(f"{body_pad}return {_expr(ctx, names)}")
    return lines


def _dataclass(ctx: Ctx) -> list[str]:
    rng = ctx.rng
    ctx.need("dataclasses", "dataclass")
    name = ctx.unique(ctx.noun().capitalize() + rng.choice(("Record", "Row", "Spec", "Event")))
    decorator = rng.choice(("@dataclass", "@dataclass(frozen=True)", "@dataclass(slots=True)"))
    lines = [decorator, f"class {name}:", *_docstring(ctx, "    "), ""]
    lines += [f"    {NOUNS[i]}_id: int" for i in rng.sample(range(len(NOUNS)), 1)]
    for _ in range(rng.randint(2, 5)):
        lines.append(f"    {ctx.ident()}: {ctx.type_hint()}")
    if rng.random() < 0.5:
        ctx.need("dataclasses", "field")
        lines.append(f"    {ctx.noun()}_tags: list[str] = field(default_factory=list)")
    for _ in range(rng.randint(0, 2)):
        lines += ["", *_function(ctx, "    ", method=True, low=1)]
    return lines


def _class(ctx: Ctx) -> list[str]:
    rng = ctx.rng
    noun = ctx.noun()
    name = ctx.unique(noun.capitalize() + rng.choice(("Service", "Manager", "Client", "Store")))
    attr_a, attr_b = ctx.ident(), ctx.ident()
    lines = [f"class {name}:", *_docstring(ctx, "    "), ""]
    lines += [f"    {noun.upper()}_LIMIT = {ctx.num()}", ""]
    lines += [
        *_signature(
            "    ",
            "def __init__",
            ["self", f"{attr_a}: {ctx.type_hint()}", f"{attr_b}: int = {ctx.num()}"],
            "None",
        ),
        f"        self.{attr_a} = {attr_a}",
        f"        self.{attr_b} = {attr_b}",
        f"        self._{noun}_cache: dict[str, int] = {{}}",
    ]
    for _ in range(rng.randint(2, 4)):
        lines += ["", *_function(ctx, "    ", attrs=(attr_a, attr_b), method=True, low=2)]
    if rng.random() < 0.5:
        lines += [
            "",
            "    @property",
            f"    def {noun}_count(self) -> int:",
            f"        return len(self._{noun}_cache)",
        ]
    return lines


def _constants(ctx: Ctx) -> list[str]:
    rng = ctx.rng
    lines = [f"{ctx.noun().upper()}_{rng.choice(('TIMEOUT', 'LIMIT', 'RETRIES'))} = {ctx.num()}"]
    if rng.random() < 0.6:
        lines += ["", *_dict_literal(ctx, "", ["None"])]
    return lines


def _extras(ctx: Ctx, task_words: bool, signature: bool) -> list[list[str]]:
    """Blocks that make a module mention "task" or "signature" the way ordinary code does."""
    blocks: list[list[str]] = []
    if task_words:
        phrase = ctx.rng.choice(TASK_PHRASES).format(
            noun=ctx.noun(), adj=ctx.rng.choice(ADJECTIVES)
        )
        blocks.append(
            [
                "def collect_task_list(pending_tasks: list[str]) -> list[str]:",
                f"    # {phrase}",
                "    task_list = [task for task in pending_tasks if task]",
                "    return sorted(task_list)",
            ]
        )
    if signature:
        ctx.need("inspect")
        blocks.append(
            [
                "def accepted_parameters(func: object) -> list[str]:",
                '    """The parameter names of `func`, for the plugin registry."""',
                "    return list(inspect.signature(func).parameters)  # type: ignore[arg-type]",
            ]
        )
    return blocks


def _imports(ctx: Ctx) -> list[str]:
    lines: list[str] = []
    for section in (0, 1, 2):
        group = sorted((m, n) for (s, m), n in ctx.imports.items() if s == section)
        plain = [f"import {m}" for m, names in group if not names]
        froms = [f"from {m} import {', '.join(sorted(names))}" for m, names in group if names]
        if plain or froms:
            lines += [*plain, *froms, ""]
    return lines


def _render(ctx: Ctx, body: list[list[str]], docstring: list[str]) -> str:
    """Header (docstring, imports, logger) then the blocks, two blank lines apart."""
    ctx.need("logging")
    head = [*docstring, ""]
    if ctx.rng.random() < 0.7:
        head += ["from __future__ import annotations", ""]
    head += _imports(ctx)
    head += ["logger = logging.getLogger(__name__)"]
    parts = ["\n".join(head)] + ["\n".join(block) for block in body]
    return "\n\n\n".join(parts) + "\n"


def ordinary_blocks(ctx: Ctx, target: int) -> list[list[str]]:
    """Constants, classes, dataclasses and functions until about `target` lines."""
    blocks = [_constants(ctx)]
    size = len(blocks[0]) + 8
    while size < target:
        pick = ctx.rng.random()
        if pick < 0.2:
            block = _dataclass(ctx)
        elif pick < 0.4:
            block = _class(ctx)
        else:
            block = _function(ctx)
        if size + len(block) > MAX_BODY_LINES:
            break
        blocks.append(block)
        size += len(block) + 2
    return blocks


def module_lines_target(rng: random.Random) -> int:
    return int(rng.triangular(90, 230, 95))


# --------------------------------------------------------------------------- worker


@dataclass(frozen=True)
class WorkerStyle:
    """How one task module imports its decorator: `app`, a re-export, or shared_task."""

    decorator: str
    import_line: tuple[str, str | None, int]


WORKER_STYLES = (
    (WorkerStyle("app", ("proj.celery", "app", 2)), 0.35),
    (WorkerStyle("app", (".celery", "app", 2)), 0.15),
    (WorkerStyle("celery_app", ("proj", "celery_app", 2)), 0.15),
    (WorkerStyle("shared_task", ("celery", "shared_task", 1)), 0.2),
    (WorkerStyle("st", ("celery", "shared_task as st", 1)), 0.15),
)


def _option_values(ctx: Ctx, func: str) -> tuple[dict[str, Any], list[str]]:
    """Parity options (values) and every rendered decorator keyword, worker-only ones included."""
    rng = ctx.rng
    values: dict[str, Any] = {}
    rendered: list[str] = []

    def put(key: str, value: Any, text: str | None = None) -> None:
        values[key] = value
        rendered.append(f"{key}={text if text is not None else _literal(value)}")

    if rng.random() < 0.5:
        put("ignore_result", True)
    if rng.random() < 0.5:
        if rng.random() < 0.6:
            constant = rng.choice(tuple(QUEUE_CONSTANTS))
            put("queue", QUEUE_CONSTANTS[constant], constant)
        else:
            put("queue", ctx.noun() + "s")
    if rng.random() < 0.2:
        put("serializer", rng.choice(SERIALIZERS))
    if rng.random() < 0.1:
        put("compression", rng.choice(("gzip", "zlib", "bzip2")))
    if rng.random() < 0.2:
        put("priority", rng.randint(0, 9))
    if rng.random() < 0.2:
        put("expires", rng.choice((60, 300, 900, 3600, 86400)))
    if rng.random() < 0.05:
        put("routing_key", f"{values.get('queue', 'default')}.{func}")
    if rng.random() < 0.05:
        put("delivery_mode", rng.choice((1, 2)))
    for worker_only in ("acks_late=True", "max_retries=3", 'rate_limit="10/m"'):
        if rng.random() < 0.12:
            rendered.append(worker_only)
    rng.shuffle(rendered)
    return values, rendered


def _literal(value: Any) -> str:
    return _quote(value) if isinstance(value, str) else repr(value)


def _decorator(style: WorkerStyle, keywords: list[str]) -> list[str]:
    head = "@app.task" if style.decorator == "app" else f"@{style.decorator}"
    if style.decorator == "celery_app":
        head = "@celery_app.task"
    if not keywords:
        return [head]
    line = f"{head}({', '.join(keywords)})"
    if len(line) <= 99:
        return [line]
    return [f"{head}(", *(f"    {k}," for k in keywords), ")"]


def _task_block(ctx: Ctx, module: str, style: WorkerStyle) -> tuple[list[str], TaskSpec]:
    rng = ctx.rng
    func = ctx.unique(f"{rng.choice(VERBS)}_{ctx.noun()}")
    names, parts = _params(ctx, rng.randint(0, 3))
    required = len(names) - (1 if parts and parts[-1].endswith("= None") else 0)
    options, keywords = _option_values(ctx, func)
    name = f"proj.{module}.{func}"
    if rng.random() < 0.3:
        name = rng.choice((f"{module}.{func}", name))
        keywords.insert(0, f"name={_quote(name)}")
    if rng.random() < 0.15:
        keywords.insert(0, "bind=True")
        parts.insert(0, "self")
    lines = [*_decorator(style, keywords), *_signature("", f"def {func}", parts, "None")]
    lines += _docstring(ctx, "    ")
    lines += _block(ctx, "    ", [*names] or ["FAST"], 0, 2, 6)
    return lines, TaskSpec(name, tuple(names), required, options)


def worker_module(ctx: Ctx, module: str) -> tuple[str, list[TaskSpec]]:
    """A task module: helpers plus 4 to 10 tasks in one decorator style, under 300 lines."""
    rng = ctx.rng
    styles = [style for style, _ in WORKER_STYLES]
    style = rng.choices(styles, [weight for _, weight in WORKER_STYLES])[0]
    ctx.need(*style.import_line)
    constants = [f"{key} = {_quote(value)}" for key, value in QUEUE_CONSTANTS.items()]
    blocks: list[list[str]] = [constants]
    tasks: list[TaskSpec] = []
    size = 20
    for _ in range(rng.randint(4, 10)):
        helper = _function(ctx) if rng.random() < 0.4 else []
        block, task = _task_block(ctx, module, style)
        if tasks and size + len(helper) + len(block) > MAX_BODY_LINES:
            break
        blocks += [b for b in (helper, block) if b]
        tasks.append(task)
        size += len(helper) + len(block) + 4
    doc = [f'"""Celery tasks for {module}: {ctx.sentence().lower()}"""']
    return _render(ctx, blocks, doc), tasks


CELERY_MODULE = '''"""The worker's Celery app."""

import os

from celery import Celery

app = Celery(
    "proj",
    broker=os.environ.get("BROKER_URL", "redis://localhost:6379/0"),
    backend=os.environ.get("RESULT_BACKEND", "redis://localhost:6379/1"),
)
app.conf.task_default_queue = "default"
app.autodiscover_tasks()
'''

WORKER_INIT = '''"""The proj worker package; `celery -A proj worker` loads the app from here."""

from .celery import app as celery_app

__all__ = ("celery_app",)
'''


# --------------------------------------------------------------------------- producers


@dataclass
class CallPlan:
    lines: list[str]
    changes: bool
    unknown: bool
    constant: str | None = None  # a module-level `NAME_TASK = "..."` line the call relies on


def _typo(name: str, rng: random.Random) -> str:
    head, _, last = name.rpartition(".")
    if len(last) > 3 and rng.random() < 0.7:
        i = rng.randint(0, len(last) - 2)
        swapped = last[:i] + last[i + 1] + last[i] + last[i + 2 :]
        if swapped != last:
            return f"{head}.{swapped}"
    return f"legacy.{rng.choice(NOUNS)}.{rng.choice(VERBS)}"


def _call(ctx: Ctx, task: TaskSpec, receiver: str, pad: str) -> CallPlan:
    """One send_task call: already correct, missing options, or to an unknown name."""
    rng = ctx.rng
    kind = rng.choices(("correct", "missing", "unknown"), (0.35, 0.55, 0.10))[0]
    declared = list(task.options)
    if kind == "correct":
        kept = declared
    else:
        kept = rng.sample(declared, rng.randint(0, max(0, len(declared) - 1)))
    name = _typo(task.name, rng) if kind == "unknown" else task.name
    count = rng.randint(task.required, len(task.params))
    values = [
        rng.choice(("record.id", "record.name", "delay", "3", '"eu-west-1"')) for _ in range(count)
    ]
    arguments = [f"args=[{', '.join(values)}]"] if values else []
    if rng.random() < 0.3:
        arguments.append("countdown=delay")
    arguments += [f"{key}={_literal(task.options[key])}" for key in kept]
    constant = None
    name_text = _quote(name)
    if rng.random() < 0.2:
        constant = ctx.unique(name.rpartition(".")[2].upper() + "_TASK")
        name_text = constant
    line = f"{pad}{receiver}.send_task({', '.join([name_text, *arguments])})"
    if len(line) > 99:
        inner = pad + "    "
        line_list = [
            f"{pad}{receiver}.send_task(",
            *(f"{inner}{a}," for a in [name_text, *arguments]),
            f"{pad})",
        ]
    else:
        line_list = [line]
    changes = kind == "missing" and len(kept) < len(declared)
    const_line = f"{constant} = {_quote(name)}" if constant else None
    return CallPlan(line_list, changes, kind == "unknown", const_line)


def producer_block(ctx: Ctx, tasks: list[TaskSpec]) -> tuple[list[str], list[CallPlan]]:
    """A function that publishes 1 to 4 tasks by name, the first inside a loop."""
    rng = ctx.rng
    receiver = "current_app" if rng.random() < 0.7 else "celery_client"
    if receiver == "current_app":
        ctx.need("celery", "current_app", 1)
    ctx.need("typing", "Any")
    ctx.need("collections.abc", "Sequence")
    noun = ctx.noun()
    plans = [
        _call(ctx, task, receiver, "        " if i == 0 else "    ")
        for i, task in enumerate(rng.sample(tasks, rng.randint(1, min(4, len(tasks)))))
    ]
    lines = [
        f"def enqueue_{ctx.unique(noun)}s(records: Sequence[Any], delay: int = 0) -> int:",
        f'    """Hand {noun}s to the workers by task name; the worker code is not imported."""',
        "    sent = 0",
        "    for record in records:",
        *plans[0].lines,
        "        sent += 1",
    ]
    for plan in plans[1:]:
        lines += plan.lines
    return [*lines, "    return sent"], plans


def producer_header(ctx: Ctx, plans: list[CallPlan], uses_client: bool) -> list[str]:
    lines = [plan.constant for plan in plans if plan.constant]
    if uses_client:
        ctx.need("os")
        ctx.need("celery", "Celery", 1)
        lines += [
            "celery_client = Celery(",
            f'    "{ctx.noun()}-producer",',
            '    broker=os.environ.get("BROKER_URL", "redis://localhost:6379/0"),',
            ")",
        ]
    return lines


# --------------------------------------------------------------------------- the tree


@dataclass(frozen=True)
class FilePlan:
    path: str
    kind: str  # "init", "module", "producer"
    task_words: bool = False
    signature: bool = False


def _unique(rng_name: str, taken: set[str]) -> str:
    name, n = rng_name, 2
    while name in taken:
        name, n = f"{rng_name}{n}", n + 1
    taken.add(name)
    return name


def plan_layout(total: int, seed: int) -> tuple[list[str], list[FilePlan]]:
    """(worker task module names, the other files) for a tree of exactly `total` files."""
    rng = random.Random(f"{seed}/layout")
    task_modules = max(3, total // 200)
    taken: set[str] = {"celery"}
    worker = [_unique(f"{rng.choice(NOUNS)}s", taken) for _ in range(task_modules)]
    paths = _ordinary_paths(rng, max(0, total - task_modules - 2))
    modules = [i for i, p in enumerate(paths) if not p.endswith("__init__.py")]
    producers = set(rng.sample(modules, min(len(modules), max(1, round(total * PRODUCER_SHARE)))))
    task_words = set(rng.sample(modules, round(len(modules) * TASK_WORD_SHARE)))
    signature = set(rng.sample(modules, round(len(modules) * SIGNATURE_SHARE)))
    plans = []
    for i, path in enumerate(paths):
        kind = (
            "init" if path.endswith("__init__.py") else "producer" if i in producers else "module"
        )
        plans.append(FilePlan(path, kind, i in task_words, i in signature))
    return worker, plans


def _ordinary_paths(rng: random.Random, count: int) -> list[str]:
    paths: list[str] = []
    services: set[str] = set()
    kinds = ("api", "service", "core", "jobs", "web", "sync", "tools")
    while len(paths) < count:
        service = _unique(f"{rng.choice(NOUNS)}_{rng.choice(kinds)}", services)
        base = f"services/{service}/src/{service}"
        paths.append(f"{base}/__init__.py")
        packages: set[str] = set()
        for _ in range(rng.randint(3, 8)):
            package = _unique(rng.choice(NOUNS), packages)
            paths.append(f"{base}/{package}/__init__.py")
            modules: set[str] = {"__init__"}
            for _ in range(rng.randint(6, 18)):
                stem = rng.choice((f"{rng.choice(VERBS)}_{rng.choice(NOUNS)}", rng.choice(NOUNS)))
                paths.append(f"{base}/{package}/{_unique(stem, modules)}.py")
    return paths[:count]


def init_module(rng: random.Random) -> str:
    ctx = Ctx(rng)
    lines = [f'"""{ctx.sentence()}"""']
    if rng.random() < 0.4:
        lines += [
            "",
            f'__version__ = "{rng.randint(0, 4)}.{rng.randint(0, 20)}.{rng.randint(0, 9)}"',
        ]
    return "\n".join(lines) + "\n"


def ordinary_module(plan: FilePlan, seed: int, tasks: list[TaskSpec]) -> tuple[str, list[CallPlan]]:
    """An ordinary module; a producer also publishes a few tasks by name."""
    rng = random.Random(f"{seed}/{plan.path}")
    if plan.kind == "init":
        return init_module(rng), []
    nouns = (*NOUNS, "task", "task") if plan.task_words else NOUNS
    ctx = Ctx(rng, nouns)
    blocks = ordinary_blocks(ctx, module_lines_target(rng))
    blocks += _extras(ctx, plan.task_words, plan.signature)
    calls: list[CallPlan] = []
    if plan.kind == "producer":
        block, calls = producer_block(ctx, tasks)
        header = producer_header(
            ctx, calls, any("celery_client." in "".join(c.lines) for c in calls)
        )
        blocks[0] = [*header, "", *blocks[0]] if header else blocks[0]
        blocks.append(block)
    return _render(ctx, blocks, _docstring(ctx, "")), calls


def build_tree(total: int, seed: int) -> tuple[dict[str, str], Manifest]:
    """Every file's path and text, and what the tool should find in them."""
    worker, plans = plan_layout(total, seed)
    files = {"worker/proj/__init__.py": WORKER_INIT, "worker/proj/celery.py": CELERY_MODULE}
    tasks: list[TaskSpec] = []
    for module in worker:
        text, declared = worker_module(Ctx(random.Random(f"{seed}/worker/{module}")), module)
        files[f"worker/proj/{module}.py"] = text
        tasks += declared
    counts = Counts()
    for plan in plans:
        text, calls = ordinary_module(plan, seed, tasks)
        files[plan.path] = text
        counts.task_word_files += plan.task_words
        if calls:
            counts.producer_files += 1
            counts.calls += len(calls)
            counts.calls_to_change += sum(c.changes for c in calls)
            counts.files_to_change += any(c.changes for c in calls)
            counts.unknown_calls += sum(c.unknown for c in calls)
    counts.files = len(files)
    counts.lines = sum(text.count("\n") for text in files.values())
    index = {t.name: {k: t.options[k] for k in PARITY if k in t.options} for t in tasks}
    return files, Manifest(seed, counts, index)


def write_tree(out: Path, files: dict[str, str]) -> None:
    made: set[Path] = set()
    for rel, text in files.items():
        path = out / rel
        if path.parent not in made:
            path.parent.mkdir(parents=True, exist_ok=True)
            made.add(path.parent)
        path.write_text(text, encoding="utf-8")


def git_env() -> dict[str, str]:
    """A fixed identity and dates, and no user or system config (hooks, signing, templates)."""
    env = dict(os.environ)
    env.update(
        GIT_AUTHOR_NAME="Bench Generator",
        GIT_AUTHOR_EMAIL="bench@example.invalid",
        GIT_AUTHOR_DATE=GIT_DATE,
        GIT_COMMITTER_NAME="Bench Generator",
        GIT_COMMITTER_EMAIL="bench@example.invalid",
        GIT_COMMITTER_DATE=GIT_DATE,
        GIT_CONFIG_GLOBAL=os.devnull,
        GIT_CONFIG_NOSYSTEM="1",
    )
    return env


def commit_tree(out: Path) -> None:
    env = git_env()
    for args in (
        ["init", "-q", "-b", "main", "--template="],
        ["add", "-A"],
        ["commit", "-q", "--no-verify", "-m", "Synthetic monorepo for celery-codemod benchmarks"],
    ):
        subprocess.run(["git", *args], cwd=out, env=env, check=True)


def manifest_path(out: Path) -> Path:
    return out / ".git" / MANIFEST


def load_manifest(out: Path) -> Manifest | None:
    try:
        data = json.loads(manifest_path(out).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return Manifest(data["seed"], Counts(**data["counts"]), data["tasks"])


def generate(out: Path, files: int, seed: int = DEFAULT_SEED) -> Manifest:
    """Write the tree into `out` (missing or empty), commit it, return its manifest."""
    check_out_dir(out)
    tree, manifest = build_tree(files, seed)
    out.mkdir(parents=True, exist_ok=True)
    write_tree(out, tree)
    commit_tree(out)
    manifest_path(out).write_text(json.dumps(asdict(manifest), indent=1), encoding="utf-8")
    return manifest


def check_out_dir(out: Path) -> None:
    resolved = out.resolve()
    if resolved == PROJECT_ROOT or PROJECT_ROOT in resolved.parents:
        raise SystemExit(f"refusing to generate inside the project: {out}")
    if resolved.exists() and any(resolved.iterdir()):
        raise SystemExit(f"refusing to generate into a non-empty directory: {out}")


def default_out(size: str) -> Path:
    return Path(tempfile.mkdtemp(prefix=f"celery-bench-{size}-"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=tuple(SIZES), default="S", help="S, M or L")
    parser.add_argument("--files", type=int, help="custom file count (overrides --size)")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--out", type=Path, help="new or empty directory (default: a temp dir)")
    args = parser.parse_args(argv)
    files = args.files if args.files is not None else SIZES[args.size]
    if files < 10:
        parser.error("--files must be at least 10")
    out = args.out or default_out(args.size if args.files is None else str(files))
    started = time.perf_counter()
    manifest = generate(out, files, args.seed)
    print(f"{manifest.summary(out)} in {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
