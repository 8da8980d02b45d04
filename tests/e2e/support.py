"""Helpers for the end-to-end tests: index and rewrite real trees, run the calls, read the broker.

Messages are read back from kombu's in-memory transport: every `memory://` connection in the
process shares one broker state (exchanges, bindings) and the queues in `memory.Channel.queues`.
"""

from __future__ import annotations

import ast
import copy
import importlib
import inspect
import socket
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal, TypeVar

import pytest
import redis
from celery import Celery, Task
from celery.result import AsyncResult
from kombu import Connection
from kombu.message import Message
from kombu.transport import memory

from codemods.index import index_source
from codemods.linking import build_index
from codemods.model import Change, TaskIndex
from codemods.rewrite import rewrite_source

Reading = TypeVar("Reading")
ROOT = Path(__file__).resolve().parents[2]
E2E = Path(__file__).resolve().parent

# A message routed to an exchange without a bound queue lands here instead of vanishing.
UNROUTABLE = "e2e.unroutable"
BROKER = {
    "broker_url": "memory://",
    "broker_transport_options": {"deadletter_queue": UNROUTABLE},
}
# The bodies the tests decode: what a worker with accept_content=["json", "pickle"] takes.
ACCEPT = frozenset({"application/json", "application/x-python-serialize"})
# `expires` and `countdown` become absolute times at send time; every app under test reads this.
FROZEN_NOW = datetime(2030, 1, 2, 3, 4, 5, tzinfo=timezone.utc)

# Which text of a changed call to run.
Variant = Literal["original", "rewritten"]

SEND_TASK = inspect.signature(Celery.send_task)
SEND_TASK_PARAMETERS = tuple(SEND_TASK.parameters)[1:]  # without `self`


@dataclass(frozen=True)
class Project:
    """A worker tree (task declarations) and a producer tree (calls by name)."""

    workers: Path
    producers: Path


OWN = Project(E2E / "workers", E2E / "producers")
DEMO = Project(ROOT / "fixtures" / "demo" / "worker", ROOT / "fixtures" / "demo" / "producers")


@dataclass(frozen=True)
class RedisServer:
    """A redis-server the tests started on a loopback port."""

    port: int

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def client(self) -> redis.Redis:
        return redis.Redis(
            host="127.0.0.1", port=self.port, socket_timeout=5, decode_responses=True
        )


def settled(read: Callable[[], Reading], timeout: float = 2.0) -> Reading:
    """The reading once two in a row agree: the server has handled what the producer sent.

    redis-py sends SUBSCRIBE without waiting for the reply, so the server may lag the call.
    """
    last = read()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        time.sleep(0.05)
        current, last = last, read()
        if current == last:
            break
    return last


def free_port() -> int:
    """A loopback TCP port nothing listens on (at the time of asking)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def module_name(path: Path) -> tuple[Path, str]:
    """(import root, dotted module name) of a file: its folders count while they hold `__init__.py`."""
    parts = [] if path.name == "__init__.py" else [path.stem]
    directory = path.parent
    while (directory / "__init__.py").is_file():
        parts.insert(0, directory.name)
        directory = directory.parent
    return directory, ".".join(parts)


def index_workers(root: Path) -> TaskIndex:
    """Pass 1 over every module under `root`, with the names Celery would give its tasks."""
    facts = []
    for path in sorted(root.rglob("*.py")):
        _, module = module_name(path)
        facts.append(
            index_source(
                path.read_text(),
                path=path.relative_to(root).as_posix(),
                module=module,
                is_package=path.name == "__init__.py",
            )
        )
    return build_index(facts)


@dataclass(frozen=True)
class RewrittenCall:
    """A call the codemod changed, as the original and the rewritten expression, ready to run.

    Each is the call's own text from the file, parsed, with what ties it to its module replaced:
    the receiver becomes `app` (the producer app under test), the name becomes the task name the
    codemod resolved, and task arguments that need the caller's runtime (`user.id`) become
    placeholder strings ("<user.id>"). Options are run as written, the inserted keywords included.
    """

    path: str
    change: Change
    original: ast.Expression
    rewritten: ast.Expression

    @property
    def id(self) -> str:
        return f"{self.path}:{self.change.line}:{self.change.task}"

    def send(self, app: Celery, variant: Variant) -> AsyncResult:
        """Run the "original" or the "rewritten" call with `app` as its receiver."""
        tree = {"original": self.original, "rewritten": self.rewritten}[variant]
        code = compile(tree, f"{self.path}:{self.change.line}", "eval")
        result: AsyncResult = eval(code, {"app": app})
        return result

    def apply_async(self, task: Task) -> AsyncResult:
        """What the worker's own task object sends for the original call's arguments."""
        call = self.original.body
        assert isinstance(call, ast.Call)
        binder = ast.Call(ast.Name("bind", ast.Load()), call.args, call.keywords)
        code = compile(ast.fix_missing_locations(ast.Expression(binder)), self.id, "eval")
        bound = eval(code, {"bind": lambda *a, **k: SEND_TASK.bind(None, *a, **k)})
        arguments = dict(bound.arguments)
        for unused in ("self", "name"):
            del arguments[unused]
        options = arguments.pop("options", {})
        return task.apply_async(**arguments, **options)

    def inserted(self) -> dict[str, Any]:
        """The keywords the rewritten call has and the original lacks, with their values."""
        before, after = self.original.body, self.rewritten.body
        assert isinstance(before, ast.Call) and isinstance(after, ast.Call)
        given = {k.arg for k in before.keywords}
        return {
            k.arg: ast.literal_eval(k.value)
            for k in after.keywords
            if k.arg is not None and k.arg not in given
        }


def rewritten_calls(project: Project) -> list[RewrittenCall]:
    """Rewrite every producer module against the worker index; one entry per change."""
    index = index_workers(project.workers)
    calls = []
    for path in sorted(project.producers.rglob("*.py")):
        source = path.read_text()
        rel = path.relative_to(project.producers).as_posix()
        result = rewrite_source(source, index, path=rel)
        if result.new_source is None:
            continue
        before, after = _send_task_calls(source), _send_task_calls(result.new_source)
        if len(before) != len(after):
            raise AssertionError(f"{rel}: {len(before)} send_task calls became {len(after)}")
        for change in result.changes:
            where = f"{rel}:{change.line}"
            matches = [i for i, call in enumerate(before) if call.lineno == change.line]
            if len(matches) != 1:
                raise AssertionError(f"{where}: {len(matches)} send_task calls start on this line")
            (position,) = matches
            calls.append(
                RewrittenCall(
                    path=rel,
                    change=change,
                    original=_runnable(before[position], change.task, where),
                    rewritten=_runnable(after[position], change.task, where),
                )
            )
    return calls


def _send_task_calls(source: str) -> list[ast.Call]:
    """`X.send_task(...)` calls in source order, outer call first."""
    calls = [
        node
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "send_task"
    ]
    return sorted(
        calls,
        key=lambda c: (c.lineno, c.col_offset, -(c.end_lineno or 0), -(c.end_col_offset or 0)),
    )


def _runnable(call: ast.Call, task: str, where: str) -> ast.Expression:
    call = copy.deepcopy(call)
    call.func = ast.Attribute(ast.Name("app", ast.Load()), "send_task", ast.Load())
    for position, arg in enumerate(call.args):
        if isinstance(arg, ast.Starred) or position >= len(SEND_TASK_PARAMETERS):
            raise AssertionError(f"{where}: cannot bind positional argument {ast.unparse(arg)}")
        call.args[position] = _argument(SEND_TASK_PARAMETERS[position], arg, task, where)
    for keyword in call.keywords:
        if keyword.arg is None:
            raise AssertionError(f"{where}: cannot run a call with **{ast.unparse(keyword.value)}")
        keyword.value = _argument(keyword.arg, keyword.value, task, where)
    return ast.fix_missing_locations(ast.Expression(call))


def _argument(parameter: str, node: ast.expr, task: str, where: str) -> ast.expr:
    if parameter == "name":
        return ast.Constant(task)
    if parameter in ("args", "kwargs"):
        stand_in = _stand_in(node)
        if isinstance(stand_in, ast.Constant) and isinstance(stand_in.value, str):
            # The whole sequence or mapping is a runtime value: keep its shape.
            if parameter == "args":
                return ast.List([stand_in], ast.Load())
            return ast.Dict([stand_in], [copy.copy(stand_in)])
        return stand_in
    if not _is_literal(node):
        raise AssertionError(f"{where}: option {parameter}={ast.unparse(node)} is not a literal")
    return node


def _stand_in(node: ast.expr) -> ast.expr:
    """The expression with each part that needs the caller's runtime replaced by "<its text>"."""
    if _is_literal(node):
        return node
    if isinstance(node, ast.List | ast.Tuple) and not any(
        isinstance(e, ast.Starred) for e in node.elts
    ):
        return type(node)([_stand_in(e) for e in node.elts], ast.Load())
    if isinstance(node, ast.Dict) and None not in node.keys:
        keys: list[ast.expr | None] = [_stand_in(k) for k in node.keys if k is not None]
        return ast.Dict(keys, [_stand_in(v) for v in node.values])
    return ast.Constant(f"<{ast.unparse(node)}>")


def _is_literal(node: ast.expr) -> bool:
    try:
        ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return False
    return True


@contextmanager
def imported_workers(root: Path) -> Iterator[list[Celery]]:
    """Import every module under `root` as the worker would; yield the Celery apps they hold.

    Each app is pointed at the memory broker with results disabled, and declares the queues it
    consumes as a starting worker does. The imported modules are forgotten afterwards.
    """
    names = [module_name(path) for path in sorted(root.rglob("*.py"))]
    roots = sorted({str(import_root) for import_root, _ in names})
    packages = {name.split(".")[0] for _, name in names}
    clash = packages & {name.split(".")[0] for name in sys.modules}
    if clash:
        raise AssertionError(f"worker packages {sorted(clash)} are already imported")
    sys.path[:0] = roots
    try:
        modules = [importlib.import_module(name) for _, name in names]
        found = {id(v): v for m in modules for v in vars(m).values() if isinstance(v, Celery)}
        apps = list(found.values())
        for app in apps:
            app.conf.update(BROKER, result_backend="disabled://")
            with app.connection_for_write() as connection:
                for queue in app.amqp.queues.values():
                    queue.bind(connection.default_channel).declare()
        yield apps
    finally:
        for entry in roots:
            sys.path.remove(entry)
        for name in [n for n in sys.modules if n.split(".")[0] in packages]:
            del sys.modules[name]


def find_task(apps: list[Celery], name: str) -> Task:
    for app in apps:
        if name in app.tasks:
            return app.tasks[name]
    raise AssertionError(f"no worker app registers {name!r}")


@contextmanager
def producer_app(**conf: Any) -> Iterator[Celery]:
    """A producer app that imports no worker code, on the memory broker; closed afterwards.

    It is never made the current app: `shared_task` and `app.task` register with every app that
    gets finalized, and Celery 5.7's send_task merges the options of a locally registered task,
    which would hide what a real producer loses.
    """
    app = Celery("producer", set_as_current=False)
    app.conf.update(BROKER, **conf)
    try:
        yield app
    finally:
        client = getattr(app.backend, "client", None)
        if client is not None:
            client.connection_pool.disconnect()
        app.close()


def freeze_clock(monkeypatch: pytest.MonkeyPatch, *apps: Celery) -> None:
    """Make `app.now()` return FROZEN_NOW, so absolute times (expires, eta) compare exactly."""
    for app in apps:
        monkeypatch.setattr(app, "now", lambda: FROZEN_NOW)


@dataclass(frozen=True)
class Delivery:
    """One message as the broker holds it: where it went and what the worker will do with it."""

    task: str
    queue: str
    exchange: str
    routing_key: str
    content_type: str
    compression: str | None
    priority: int | None
    delivery_mode: int | None
    expires: str | None
    expiration: str | None
    eta: str | None
    # The worker skips storing the result when the header is True (None/False: it stores
    # unless its declaration, or on 5.6.3+ workers a False header, says otherwise).
    ignores_result: bool
    args: tuple[Any, ...]
    kwargs: Mapping[str, Any]
    ignore_result_header: bool | None = field(compare=False)

    @classmethod
    def read(cls, queue: str, message: Message) -> Delivery:
        args, kwargs, _ = message.decode()
        headers, properties = message.headers, message.properties
        return cls(
            task=headers["task"],
            queue=queue,
            exchange=message.delivery_info["exchange"],
            routing_key=message.delivery_info["routing_key"],
            content_type=message.content_type,
            compression=headers.get("compression"),
            priority=properties.get("priority"),
            delivery_mode=properties.get("delivery_mode"),
            expires=headers.get("expires"),
            expiration=properties.get("expiration"),
            eta=headers.get("eta"),
            ignores_result=headers.get("ignore_result") is True,
            args=tuple(args),
            kwargs=kwargs,
            ignore_result_header=headers.get("ignore_result"),
        )


def differing_fields(a: Delivery, b: Delivery) -> set[str]:
    return {f.name for f in fields(a) if f.compare and getattr(a, f.name) != getattr(b, f.name)}


def drain() -> list[Delivery]:
    """Take every message out of every queue of the memory broker."""
    found = []
    with Connection("memory://") as connection:
        channel = connection.default_channel
        for queue in sorted(memory.Channel.queues):
            while (message := channel.basic_get(queue, no_ack=True)) is not None:
                message.accept = ACCEPT
                found.append(Delivery.read(queue, message))
    return found


def delivered(send: Callable[[], object]) -> Delivery:
    """The one message that `send` puts on the broker."""
    drain()
    send()
    messages = drain()
    if len(messages) != 1:
        raise AssertionError(f"expected one message on the broker, found {messages}")
    return messages[0]


def should_differ(added: Mapping[str, Any]) -> bool:
    """Whether these inserted options must change what a plain call sends (Celery's defaults).

    `exchange` and `routing_key` are left out: whether they change the route depends on the queue.
    """
    return (
        added.get("ignore_result") is True
        or added.get("serializer") not in (None, "json")
        or added.get("compression") is not None
        or added.get("queue") not in (None, "celery")
        or added.get("priority") not in (None, 0)
        or added.get("expires") is not None
        or added.get("delivery_mode") not in (None, 2, "persistent")
    )
