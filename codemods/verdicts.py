"""`results`, deciding: whether anybody can read each task's result, and which apps need a
result backend at all.

Each module's task starts (resultflow.py) are matched to indexed tasks: by the dotted name of the
task object (`from proj.tasks import add; add.delay()`), by name (`send_task`, name-based
signatures, `app.tasks[NAME]`, beat entries), or not at all (a dynamic name or receiver, which may
be any task). A task is `ignored` when it already ignores results; `read` when a place reads its
result (a read outside an eagerly run test, a chord header, a read by id, `ignore_result=False`
on a call); `unknown` when no call was found outside tests, or a result or its id is passed on,
or a call the tool cannot attribute may start it; else `unread`: every call was found and drops
the result. When in doubt, never `unread`.
"""

from __future__ import annotations

import functools
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath

from codemods.model import (
    CallSite,
    Concat,
    Diagnostic,
    ResultFacts,
    ResultUse,
    Severity,
    TaskDef,
    TaskIndex,
    TaskStart,
)
from codemods.resultflow import (
    CANVAS_READ,
    CHORD_HEADER,
    DISCARDED,
    DYNAMIC_CALL,
    EXPLICIT_FALSE,
    ID_ESCAPES,
    NO_CALLS,
    QUERIED,
    READ,
    READ_BY_ID,
    RESULT_ESCAPES,
)
from codemods.symbols import SymbolTable

UNREAD, READ_VERDICT, UNKNOWN, IGNORED = "unread", "read", "unknown", "ignored"
VERDICTS = (UNREAD, READ_VERDICT, UNKNOWN, IGNORED)
# Evidence that somebody reads the result (unless the task runs eagerly there).
READING = frozenset({READ, CANVAS_READ, CHORD_HEADER, EXPLICIT_FALSE, READ_BY_ID})
# Evidence that somebody may: the tool cannot see where the result (or its id) goes.
UNSURE = frozenset({RESULT_ESCAPES, ID_ESCAPES, DYNAMIC_CALL})
UNATTRIBUTED = "an id not traced to a call"
QUERIED_DETAIL = "stored results queried (django-celery-results)"
TEST_FOLDERS = frozenset({"tests", "test", "testing"})
# A file that cannot be read as Python mentions a task by one of these tokens (a task name, a
# dotted path) or by one of their parts (a function's name).
_TOKEN = re.compile(rb"[\w.:\-]+")
_TOKEN_PARTS = re.compile(rb"[.:\-]")
ANY_APP = "*"


@functools.cache
def in_tests(path: str) -> bool:
    """Test code: under a tests/test/testing folder, or a test_*.py, *_test.py or conftest.py."""
    parts = PurePosixPath(path).parts
    name = parts[-1] if parts else ""
    return (
        any(part in TEST_FOLDERS for part in parts[:-1])
        or name.startswith("test_")
        or name.endswith("_test.py")
        or name == "conftest.py"
    )


@dataclass(frozen=True, slots=True)
class Evidence:
    path: str
    line: int
    kind: str
    in_tests: bool = False
    # True: the task runs in the caller (`.apply()`, an eager test configuration), so reading
    # its result needs no backend; False: it does not; None: cannot tell.
    eager: bool | None = False
    detail: str = ""

    @property
    def reads(self) -> bool:
        if self.eager is True or self.kind not in READING:
            return False
        return not (self.kind == READ_BY_ID and self.detail in (UNATTRIBUTED, QUERIED_DETAIL))

    @property
    def unsure(self) -> bool:
        if self.eager is True:
            return False
        return self.kind in UNSURE or (
            self.kind == READ_BY_ID and self.detail in (UNATTRIBUTED, QUERIED_DETAIL)
        )


@dataclass(frozen=True)
class TaskVerdict:
    task: TaskDef
    verdict: str
    calls: int
    evidence: tuple[Evidence, ...]


@dataclass(frozen=True)
class AppVerdict:
    app: str  # dotted name, module.attribute
    path: str
    line: int
    backend_needed: bool
    evidence: tuple[Evidence, ...]
    # Where a result backend is configured: (path, line, setting).
    backends: tuple[tuple[str, int, str], ...] = ()


@dataclass(frozen=True)
class ResultsFile:
    """One scanned file as `results` reads it. `searched`: under PATHS, so its calls count."""

    path: str
    facts: ResultFacts
    beats: tuple[CallSite, ...] = ()
    searched: bool = True


@dataclass(frozen=True)
class UnreadableFile:
    """A searched file the tool could not read as Python (`problem`: the diagnostic's code), so
    its calls are unseen. `data`: its bytes; None when they could not be read either."""

    path: str
    problem: str
    data: bytes | None


@dataclass(frozen=True)
class DefinedApp:
    app: str
    path: str
    line: int
    # Where its result backend is configured: (path, line, setting).
    backends: tuple[tuple[str, int, str], ...] = ()


@dataclass(frozen=True)
class Verdicts:
    tasks: tuple[TaskVerdict, ...]
    apps: tuple[AppVerdict, ...]
    diagnostics: tuple[Diagnostic, ...]


def decide(
    files: Sequence[ResultsFile],
    index: TaskIndex,
    table: SymbolTable,
    apps: Sequence[DefinedApp] = (),
    unindexed: Sequence[tuple[str, int]] = (),
    app_bound: Iterable[str] = (),
    unreadable: Sequence[UnreadableFile] = (),
) -> Verdicts:
    """Every indexed task's verdict and every app's backend verdict (a pure function).
    `unindexed`: where task declarations the index could not read are (path, line): any app
    may own them, so every app may need its backend. `app_bound`: the tasks declared with
    `shared=False`; any other task is registered with every app a process makes (Celery shares
    `@app.task` tasks as it shares `@shared_task` ones), so it counts for every app.
    `unreadable`: searched files that could not be parsed; a task they mention (or every task,
    when their bytes are unknown) may be started there and its result read: never `unread`."""
    decider = _Decider(index, table, apps)
    decider.app_bound = frozenset(app_bound)
    for path, line in unindexed:
        detail = "a task declaration the index cannot read"
        decider.app_evidence[ANY_APP].append(Evidence(path, line, NO_CALLS, False, False, detail))
    for file in unreadable:
        decider.unreadable(file)
    return decider.run(files)


class _Decider:
    def __init__(self, index: TaskIndex, table: SymbolTable, apps: Sequence[DefinedApp]) -> None:
        self.index = index
        self.table = table
        self.apps = {table.canonical(a.app): a for a in apps}
        self.tasks = [index.tasks[name] for name in index.names]
        self.by_function: dict[str, TaskDef] = {}
        self.by_prefix: dict[str, list[TaskDef]] = defaultdict(list)
        # Last parts of the tasks' functions and modules: a name passed on that ends otherwise
        # is not looked up (most names passed on are not tasks).
        self.short_names: set[str] = set()
        for task in self.tasks:
            if task.function:
                function = table.canonical(task.function)
                self.by_function.setdefault(function, task)
                parts = function.split(".")
                self.short_names.update(parts)
                for end in range(1, len(parts)):
                    self.by_prefix[".".join(parts[:end])].append(task)
        self.evidence: dict[str, list[Evidence]] = defaultdict(list)
        self.calls: dict[str, int] = defaultdict(int)
        self.outside_tests: dict[str, int] = defaultdict(int)
        self.app_evidence: dict[str, list[Evidence]] = defaultdict(list)
        self.unattributed: list[Evidence] = []
        self.queried: list[Evidence] = []  # stored results read by query
        self.pool: list[TaskDef] = []  # what a receiver of unknown origin may be
        self.app_bound: frozenset[str] = frozenset()  # tasks declared with shared=False
        # (task name, evidence) of reads by calls that do not override ignore_result.
        self.plain_reads: list[tuple[str, Evidence]] = []

    # -- gathering evidence ---------------------------------------------------------------------

    def run(self, files: Sequence[ResultsFile]) -> Verdicts:
        eager_folders = {
            str(PurePosixPath(f.path).parent) for f in files if f.facts.eager and in_tests(f.path)
        }
        self.pool = self._dynamic_pool(files)
        for file in files:
            if not file.searched:
                continue
            eager = self._file_eager(file.path, eager_folders)
            for start in file.facts.starts:
                self._start(file.path, start, eager)
            for target, line, how in file.facts.references:
                self._reference(file.path, target, line, how, eager)
            for site in file.beats:
                self._beat(file.path, site)
            for line, receiver in file.facts.id_reads:
                self._id_read(file.path, line, receiver)
        verdicts = tuple(self._verdict(task) for task in self.tasks)
        apps = tuple(self._app(app, verdicts) for app in sorted(self.apps.values(), key=_key))
        diagnostics = tuple(self._ignored_but_read(verdicts))
        return Verdicts(verdicts, apps, diagnostics)

    @staticmethod
    def _file_eager(path: str, eager_folders: set[str]) -> bool | None:
        """Tests in a folder whose conftest.py (or the test file itself) sets eager run tasks
        eagerly; other tests: cannot tell; other code: not eager."""
        if not in_tests(path):
            return False
        folder = PurePosixPath(path)
        for parent in (folder, *folder.parents):
            if str(parent) in eager_folders:
                return True
        return None

    def _evidence(
        self, path: str, use: ResultUse, start: TaskStart, eager: bool | None
    ) -> Evidence:
        if use.eager:
            eager = True
        elif start.how == "send_task":
            eager = False  # send_task always goes through the broker
        return Evidence(path, use.line, use.kind, in_tests(path), eager, use.detail)

    def _referenced_tasks(self, target: str) -> list[TaskDef]:
        """The tasks an object passed on by name may be: the task itself, or a module's."""
        if target.rpartition(".")[2] not in self.short_names:
            return []  # most names passed on are not tasks: not looked up
        canonical = self.table.canonical(target)
        task = self.by_function.get(canonical)
        return [task] if task is not None else self.by_prefix.get(canonical, [])

    def _reference(self, path: str, target: str, line: int, how: str, eager: bool | None) -> None:
        evidence = Evidence(path, line, DYNAMIC_CALL, in_tests(path), eager, how)
        for task in self._referenced_tasks(target):
            self.evidence[task.name].append(evidence)

    def _start(self, path: str, start: TaskStart, eager: bool | None) -> None:
        uses = start.uses or (ResultUse(start.line, DISCARDED, ""),)
        evidence = [self._evidence(path, use, start, eager) for use in uses]
        tasks = self._tasks_of(start)
        if tasks is None:  # a name or receiver that may be any task
            if any(e.reads or e.unsure for e in evidence):
                dynamic = Evidence(
                    path, start.line, DYNAMIC_CALL, in_tests(path), eager, start.dynamic
                )
                for task in self._candidates(start):
                    self.evidence[task.name].append(dynamic)
                self.app_evidence[self._receiver_app(start)].append(dynamic)
            return
        overrides = any(use.kind == EXPLICIT_FALSE for use in uses)
        for task in tasks:
            self.evidence[task.name].extend(evidence)
            self.calls[task.name] += 1
            if not in_tests(path):
                self.outside_tests[task.name] += 1
            if not overrides:
                self.plain_reads.extend((task.name, e) for e in evidence if e.reads)
        reading = [e for e in evidence if e.reads or e.unsure]
        if reading and (start.how == "send_task" or not tasks):
            # The result is kept by the backend of the app the call goes through: the receiver's
            # for send_task; for a task the trees do not declare, whichever app it belongs to.
            self.app_evidence[self._receiver_app(start)].append(reading[0])

    def _tasks_of(self, start: TaskStart) -> list[TaskDef] | None:
        """The tasks a start may start: [] when it starts none of the indexed tasks (another
        object's method, an unknown name), None when it may start any."""
        if start.target:
            target = self.table.canonical(start.target)
            task = self.by_function.get(target)
            if task is not None:
                return [task]
            if start.task is None:
                return []
        if start.task is not None:
            name = self.table.resolve(start.task)
            if isinstance(name, str):
                task = self.index.get(name)
                return [task] if task is not None else []
            if start.target:
                return []  # `obj.signature(x)` on a project object: not a task
            return None
        if start.dynamic:
            return None
        return []

    def _dynamic_pool(self, files: Sequence[ResultsFile]) -> list[TaskDef]:
        """The tasks an object of unknown origin (a parameter, a collection's element) may be:
        those whose objects are passed on by name, and those a run-time lookup may find
        (`app.tasks[name]`: any; `getattr(module, name)`: the module's), in the files read."""
        names: set[str] = set()
        for file in files:
            for target, _, _ in file.facts.references:
                names.update(t.name for t in self._referenced_tasks(target))
            for _, prefix in file.facts.lookups:
                if not prefix:
                    return list(self.tasks)
                target = self.table.canonical(prefix)
                names.update(t.name for t in self.by_prefix.get(target, ()))
                task = self.by_function.get(target)
                if task is not None:
                    names.add(task.name)
        return [t for t in self.tasks if t.name in names]

    def _candidates(self, start: TaskStart) -> list[TaskDef]:
        """The tasks a dynamic start may start: for a dynamic name, those whose name begins with
        its known leading part (`f"proj.tasks.{kind}"`); for a receiver of unknown origin, the
        dynamic pool (or every task, for `self` in a task class or the current task)."""
        if start.task is None and not start.any_task:
            return self.pool
        prefix = ""
        if isinstance(start.task, Concat):
            for part in start.task.parts:
                value = self.table.resolve(part)
                if not isinstance(value, str):
                    break
                prefix += value
        return [t for t in self.tasks if t.name.startswith(prefix)]

    def _receiver_app(self, start: TaskStart) -> str:
        if start.receiver:
            app = self.table.canonical(start.receiver)
            if app in self.apps:
                return app
        return ANY_APP

    def _beat(self, path: str, site: CallSite) -> None:
        name = self.table.resolve(site.task) if site.task is not None else None
        task = self.index.get(name) if isinstance(name, str) else None
        if task is None:
            return
        self.evidence[task.name].append(
            Evidence(path, site.line, DISCARDED, in_tests(path), False, "beat schedule")
        )
        self.calls[task.name] += 1
        if not in_tests(path):
            self.outside_tests[task.name] += 1

    def _id_read(self, path: str, line: int, receiver: str) -> None:
        """A result rebuilt from an id the module did not get from a start it can see."""
        target = self.table.canonical(receiver) if receiver else ""
        task = self.by_function.get(target)
        if task is not None:  # t.AsyncResult(task_id): a result of t
            self.evidence[task.name].append(
                Evidence(path, line, READ_BY_ID, in_tests(path), False, f"{target}.AsyncResult")
            )
            return
        if receiver == QUERIED:  # any task's stored result may be read there
            queried = Evidence(path, line, READ_BY_ID, in_tests(path), False, QUERIED_DETAIL)
            self.queried.append(queried)
            self.app_evidence[ANY_APP].append(queried)
            return
        evidence = Evidence(path, line, READ_BY_ID, in_tests(path), False, UNATTRIBUTED)
        self.unattributed.append(evidence)
        self.app_evidence[target if target in self.apps else ANY_APP].append(evidence)

    def unreadable(self, file: UnreadableFile) -> None:
        """Whatever an unparsed file mentions may be started there, its result read."""
        detail = f"mentioned in a file the tool cannot read ({file.problem})"
        eager = None if in_tests(file.path) else False
        if file.data is None:
            evidence = Evidence(file.path, 1, DYNAMIC_CALL, in_tests(file.path), eager, detail)
            for task in self.tasks:
                self.evidence[task.name].append(evidence)
            self.app_evidence[ANY_APP].append(evidence)
            return
        tokens = set(_TOKEN.findall(file.data))
        words = {part for token in tokens for part in _TOKEN_PARTS.split(token)}
        for task in self.tasks:
            mention = _mention(task, tokens, words)
            if mention is not None:
                line = _first_line(file.data, mention)
                self.evidence[task.name].append(
                    Evidence(file.path, line, DYNAMIC_CALL, in_tests(file.path), eager, detail)
                )

    # -- deciding -------------------------------------------------------------------------------

    def _verdict(self, task: TaskDef) -> TaskVerdict:
        evidence = list(self.evidence.get(task.name, ()))
        if any(e.kind == ID_ESCAPES for e in evidence):
            evidence.extend(self.unattributed)  # whoever polls an unattributed id may poll this
        evidence.extend(e for e in self.queried if not e.in_tests)
        calls = self.calls.get(task.name, 0)
        verdict = UNREAD
        if task.options.get("ignore_result") is True:
            verdict = IGNORED
        elif any(e.reads for e in evidence):
            verdict = READ_VERDICT
        elif calls == 0 or self.outside_tests.get(task.name, 0) == 0:
            verdict = UNKNOWN
            detail = "no call found" if calls == 0 else "called only from tests"
            evidence.insert(0, Evidence(task.path, task.line, NO_CALLS, False, False, detail))
        elif any(e.unsure for e in evidence):
            verdict = UNKNOWN
        ordered = sorted(set(evidence), key=_evidence_key(verdict))
        return TaskVerdict(task, verdict, calls, tuple(ordered))

    def _app(self, app: DefinedApp, verdicts: Iterable[TaskVerdict]) -> AppVerdict:
        name = self.table.canonical(app.app)
        found: list[Evidence] = []
        for verdict in verdicts:
            task = verdict.task
            bound = task.app is not None and task.name in self.app_bound
            owner = self.table.canonical(task.app) if bound and task.app else None
            if verdict.verdict in (READ_VERDICT, UNKNOWN) and owner in (None, name):
                found.append(verdict.evidence[0])
        found += self.app_evidence.get(name, [])
        found += self.app_evidence.get(ANY_APP, [])
        return AppVerdict(
            app.app,
            app.path,
            app.line,
            bool(found),
            tuple(sorted(set(found), key=_place)),
            app.backends,
        )

    def _ignored_but_read(self, verdicts: Iterable[TaskVerdict]) -> Iterable[Diagnostic]:
        ignored = {v.task.name for v in verdicts if v.verdict == IGNORED}
        seen: set[tuple[str, int, str]] = set()
        for name, evidence in self.plain_reads:
            if name not in ignored or evidence.kind == EXPLICIT_FALSE:
                continue
            key = (evidence.path, evidence.line, name)
            if key in seen:
                continue
            seen.add(key)
            how = "a chord header" if evidence.kind == CHORD_HEADER else f"read ({evidence.detail})"
            yield Diagnostic(
                evidence.path,
                evidence.line,
                "ignored-but-read",
                Severity.WARNING,
                f"the result of '{name}' is {how} here, but the task ignores results "
                "(ignore_result=True): it is never stored, so this read gets None or waits in "
                "vain; pass ignore_result=False on the call or drop it from the declaration",
            )


def _mention(task: TaskDef, tokens: set[bytes], words: set[bytes]) -> bytes | None:
    """How a file's tokens mention a task: by its name, or by the name its object is imported
    under: its function's, or its name's last dotted part when that is an identifier."""
    name = task.name.encode("utf-8", "surrogateescape")
    if name in tokens:
        return name
    for dotted in (task.function, task.name):
        last = dotted.rpartition(".")[2]
        if last.isidentifier() and last.encode() in words:
            return last.encode()
    return None


def _first_line(data: bytes, word: bytes) -> int:
    found = re.search(rb"(?<![\w])" + re.escape(word) + rb"(?![\w])", data)
    return data.count(b"\n", 0, found.start()) + 1 if found else 1


def _key(app: DefinedApp) -> tuple[str, int, str]:
    return (app.path, app.line, app.app)


def _evidence_key(verdict: str) -> Callable[[Evidence], tuple[int, Place]]:
    """Evidence order: what decided the verdict first, then by place."""

    def key(e: Evidence) -> tuple[int, Place]:
        if verdict == READ_VERDICT:
            rank = 0 if e.reads else 1
        elif verdict == UNKNOWN:
            rank = 0 if e.kind == NO_CALLS else 1 if e.unsure else 2
        else:
            rank = 1 if e.eager is True else 0
        return (rank, _place(e))

    return key


Place = tuple[str, int, str, str, bool, int]


def _place(e: Evidence) -> Place:
    """Evidence by place, then kind, then the rest: two uses on one line keep one order."""
    return (e.path, e.line, e.kind, e.detail, e.in_tests, -1 if e.eager is None else e.eager)
