"""Pass 2, deciding: what each call site needs, given the task index.

For each call: the declared options it lacks (only values set explicitly in code), and the
diagnostics of DESIGN.md: unknown or dynamic names, `**kwargs` splats, explicit overrides, options
the declaration sets to something that cannot be copied, duplicate declarations and arguments that
do not fit.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from codemods.appclasses import AppClasses
from codemods.model import (
    CELERY_BUILTIN_PREFIX,
    NOT_LITERAL,
    PARITY_OPTIONS,
    CallSite,
    Change,
    Diagnostic,
    MaybeValue,
    OptionValue,
    Ref,
    Severity,
    Signature,
    TaskDef,
    TaskIndex,
    ValueExpr,
)
from codemods.symbols import SymbolTable

Report = Callable[[str, Severity, str], None]


@dataclass(frozen=True, slots=True)
class Edit:
    """Options to add to one call or beat entry, in insertion order.

    `space` and `ordinal` find the node (the ordinal-th candidate call, or dict with a "task"
    key, in source order); `target` says where the options go: "keywords" of the call, or
    "options" (the call's `options={...}` dict, or the beat entry's, created when missing).
    """

    space: str
    ordinal: int
    line: int
    target: str
    added: Mapping[str, OptionValue]


@dataclass(frozen=True, slots=True)
class Plan:
    edits: tuple[Edit, ...]
    changes: tuple[Change, ...]
    diagnostics: tuple[Diagnostic, ...]


def ordered_options(requested: Iterable[str]) -> tuple[str, ...]:
    """The requested options in parity-set order, others after them in the order given."""
    requested = list(dict.fromkeys(requested))
    known = [o for o in PARITY_OPTIONS if o in requested]
    return (*known, *(o for o in requested if o not in PARITY_OPTIONS))


def same_value(a: MaybeValue, b: MaybeValue) -> bool:
    return type(a) is type(b) and a == b


def suggest(name: str, known: Sequence[str]) -> list[str]:
    """Close names: the same last part under another module first, then the closest spellings.
    `known` is sorted, so that suggestions come in a stable order."""
    index = _name_index(known)
    tail = name.rpartition(".")[2]
    same_tail = [k for k in index.by_tail.get(tail, ())[:4] if k != name]
    # A typo is in the module or in the function: compare with the names that share the other
    # part and are a small edit away (a typo in both is rare).
    import difflib  # only for a name no task has

    close = difflib.get_close_matches(name, index.near(name), n=3, cutoff=0.8)
    if close:
        # Only names about as close as the closest one: a near miss is rarely one of many.
        best = difflib.SequenceMatcher(None, name, close[0]).ratio()
        close = [k for k in close if difflib.SequenceMatcher(None, name, k).ratio() >= best - 0.05]
    return list(dict.fromkeys([*same_tail, *close]))[:3]


class _NameIndex:
    """Task names by last part, and by (module, last part with at most one character deleted),
    so that the names a small edit away are found without comparing with every name."""

    # More candidates than this for one name are not compared (they are all alike anyway).
    MAX_CANDIDATES = 64

    def __init__(self, names: Sequence[str]) -> None:
        self.by_tail: dict[str, list[str]] = {}
        self.by_variant: dict[tuple[str, str], list[str]] = {}
        for name in names:
            module, _, tail = name.rpartition(".")
            self.by_tail.setdefault(tail, []).append(name)
            for variant in _one_deleted(tail):
                self.by_variant.setdefault((module, variant), []).append(name)

    def near(self, name: str) -> list[str]:
        module, _, tail = name.rpartition(".")
        found: dict[str, None] = {}
        for variant in _one_deleted(tail):
            for candidate in self.by_variant.get((module, variant), ()):
                found[candidate] = None
                if len(found) >= self.MAX_CANDIDATES:
                    return sorted(found)
        for candidate in self.by_tail.get(tail, ())[: self.MAX_CANDIDATES]:
            found[candidate] = None
        return sorted(found)


def _one_deleted(word: str) -> set[str]:
    return {word, *(word[:i] + word[i + 1 :] for i in range(len(word)))}


_LAST_INDEX: list[tuple[Sequence[str], _NameIndex]] = []


def _name_index(known: Sequence[str]) -> _NameIndex:
    """The index of `known`, built once for the same sequence (one index per run)."""
    if _LAST_INDEX and _LAST_INDEX[0][0] is known:
        return _LAST_INDEX[0][1]
    index = _NameIndex(known)
    _LAST_INDEX[:] = [(known, index)]
    return index


def argument_problems(
    signature: Signature,
    args_count: int | None,
    kwargs_keys: tuple[str, ...] | None,
    *,
    complete: bool = True,
) -> list[str]:
    """Why `args`/`kwargs` cannot bind to the signature; empty when they may. When they are
    not `complete` (more may be added when the task runs), a missing argument is no problem."""
    problems = []
    positional = signature.positional
    if args_count is not None and args_count > len(positional) and not signature.varargs:
        problems.append(
            f"{args_count} positional arguments given, the task takes at most {len(positional)}"
        )
    # Positional-only parameters cannot be given by keyword: such a key goes to `**kw`.
    by_keyword = positional[signature.positional_only :]
    if kwargs_keys is not None:
        accepted = set(by_keyword) | set(signature.keyword_only)
        for key in kwargs_keys:
            if key not in accepted and not signature.varkw:
                problems.append(f"unexpected keyword argument '{key}'")
            elif (
                args_count is not None
                and key in by_keyword[: max(0, args_count - signature.positional_only)]
            ):
                problems.append(f"multiple values for argument '{key}'")
    if complete and args_count is not None and kwargs_keys is not None:
        covered = set(positional[:args_count]) | (
            set(kwargs_keys) - set(positional[: signature.positional_only])
        )
        missing = [p for p in positional[: signature.required] if p not in covered]
        missing += [k for k in signature.required_keyword_only if k not in covered]
        if missing:
            problems.append("missing required argument " + ", ".join(f"'{m}'" for m in missing))
    return problems


def plan_calls(
    sites: Iterable[CallSite],
    index: TaskIndex,
    *,
    path: str,
    options: Iterable[str],
    symbols: SymbolTable | None = None,
    app_classes: AppClasses | None = None,
) -> Plan:
    """What each call site needs, given the index, the constants of every module read and the
    project's classes (to tell a project's own `send_task` method from Celery's)."""
    planner = _Planner(index, symbols or SymbolTable(), ordered_options(options), path)
    planner.app_classes = app_classes
    edits: list[Edit] = []
    changes: list[Change] = []
    diagnostics: list[Diagnostic] = []
    sites = [site for site in sites if not site.ignore_all]
    if sites and is_test_path(path):
        return Plan((), (), (_left_in_tests(path, sites),))
    for site in sites:
        if site.kind == "beat" and site.compared:
            continue  # an expected entry, not a schedule
        found: list[Diagnostic] = []
        task, added = planner.plan(site, found)
        diagnostics.extend(d for d in found if d.code not in site.ignored)
        if added:
            space = "dict" if site.kind == "beat" else "call"
            edits.append(Edit(space, site.ordinal, site.line, site.target, added))
            changes.append(Change(path, site.line, task, added))
    return Plan(tuple(edits), tuple(changes), tuple(diagnostics))


def _left_in_tests(path: str, sites: Sequence[CallSite]) -> Diagnostic:
    return Diagnostic(
        path,
        min(site.line for site in sites),
        "test-file",
        Severity.INFO,
        f"{len(sites)} task call(s) or beat entries in a test file are left alone: tests mock "
        "send_task and assert its arguments, and their entries are expectations",
    )


def is_test_path(path: str) -> bool:
    """A file of a test suite: under `tests/`, `test/` or `testing/`, `test_*.py`, `*_test.py`,
    `conftest.py`."""
    *folders, name = path.split("/")
    return (
        any(folder in ("tests", "test", "testing") for folder in folders)
        or name.startswith("test_")
        or name.endswith("_test.py")
        or name == "conftest.py"
    )


def route_queue(name: str, routes: Iterable[tuple[str, str]]) -> str | None:
    """The queue `task_routes` sends `name` to: an exact name first, then globs in order."""
    routes = list(routes)
    for pattern, queue in routes:
        if pattern == name:
            return queue
    for pattern, queue in routes:
        if "*" in pattern and fnmatch.fnmatchcase(name, pattern):
            return queue
    return None


class _Planner:
    def __init__(
        self, index: TaskIndex, symbols: SymbolTable, option_order: tuple[str, ...], path: str
    ) -> None:
        self.index = index
        self.symbols = symbols
        self.option_order = option_order
        self.path = path
        self.app_classes: AppClasses | None = None

    def plan(self, site: CallSite, found: list[Diagnostic]) -> tuple[str, dict[str, OptionValue]]:
        def report(code: str, severity: Severity, message: str) -> None:
            found.append(Diagnostic(self.path, site.line, code, severity, message))

        if site.kind in ("send_task", "partial") and self.app_classes is not None:
            other = self.app_classes.not_celery(site.receiver)
            if other is not None:
                report(
                    "not-celery-send-task",
                    Severity.INFO,
                    f"not Celery's send_task, left alone: {other}",
                )
                return "", {}

        name, why = (
            self.symbols.explain(site.task) if site.task is not None else (NOT_LITERAL, None)
        )
        if not isinstance(name, str) and site.tentative:
            return "", {}
        if not isinstance(name, str) and why is not None and why.kind == "ambiguous":
            report(
                "ambiguous-binding",
                Severity.WARNING,
                f"the task name is not a constant: {why.describe()}; the call cannot be checked",
            )
            return "", {}
        if not isinstance(name, str):
            reason = site.dynamic_reason or f"'{_describe(site.task)}', which is not a constant"
            report(
                "dynamic-name",
                Severity.WARNING,
                f"the task name is {reason}; the call cannot be checked",
            )
            return "", {}
        if name.startswith(CELERY_BUILTIN_PREFIX) or name in self.index.conflicts:
            return name, {}
        task = self.index.get(name)
        if task is None:
            report("unknown-task", Severity.WARNING, self._unknown(name))
            return name, {}
        if task.signature is not None:
            for problem in argument_problems(
                task.signature, site.args_count, site.kwargs_keys, complete=site.complete_args
            ):
                report("argument-mismatch", Severity.ERROR, f"task '{task.name}': {problem}")
        missing = self._missing_options(site, task, report)
        if missing and site.in_fstring:
            report(
                "fstring-call",
                Severity.WARNING,
                f"the call is inside an f-string, where celery-codemod does not edit; add "
                f"{', '.join(f'{k}={v!r}' for k, v in missing.items())} by hand",
            )
            return name, {}
        if missing and site.splat:
            report(
                "splat-options",
                Severity.WARNING,
                f"the call passes {site.splat}; not adding {', '.join(missing)} (could collide)",
            )
            return name, {}
        if "ignore_result" in missing and site.result_read:
            del missing["ignore_result"]
            report(
                "result-ignored",
                Severity.WARNING,
                f"the result of '{task.name}', which ignores results, is read here or passed on "
                "(returned, stored, collected); ignore_result is not added (it would make .get() "
                "return None at once)",
            )
        return name, {o: v for o, v in missing.items() if o not in site.ignored}

    def _unknown(self, name: str) -> str:
        """Why no indexed task has `name`: a declaration the index could not name, or close
        names."""
        unindexed = self.index.unindexed
        found = unindexed.get(name.rpartition(".")[2]) or unindexed.get(name)
        if found is not None:
            path, line, code = found
            return (
                f"no indexed task named '{name}'; a function of that name declared at "
                f"{path}:{line} is not indexed ({code})"
            )
        module = name
        while "." in module:
            module = module.rpartition(".")[0]
            where = self.index.unparsed.get(module)
            if where is not None:
                return (
                    f"no indexed task named '{name}'; its module {module} ({where}) could not be "
                    "parsed, so the tasks it declares are not indexed"
                )
        hints = suggest(name, self.index.names)
        hint = f"; did you mean {' or '.join(repr(h) for h in hints)}?" if hints else ""
        return f"no task named '{name}'{hint}"

    def _missing_options(
        self, site: CallSite, task: TaskDef, report: Report
    ) -> dict[str, OptionValue]:
        missing: dict[str, OptionValue] = {}
        for option in self.option_order:
            if option in task.unresolved_options and option not in site.given:
                report(
                    "non-literal-option",
                    Severity.WARNING,
                    f"task '{task.name}' sets {option} to a value that cannot be copied "
                    f"({task.path}:{task.line}); add it by hand",
                )
                continue
            if option not in task.options:
                continue
            declared = task.options[option]
            if option == "ignore_result" and declared is not True:
                continue  # only a task that ignores results needs it on the call
            if option in site.given:
                value = self.symbols.resolve(site.given[option])
                if value is not NOT_LITERAL and not same_value(value, declared):
                    report(
                        "explicit-override",
                        Severity.INFO,
                        f"the call sets {option}={value!r}, the task declares {declared!r}; kept",
                    )
                continue
            if option == "queue" and route_queue(task.name, self.index.routes) == declared:
                report(
                    "routed-by-config",
                    Severity.INFO,
                    f"task_routes already sends '{task.name}' to queue {declared!r}; "
                    "queue is not added",
                )
                continue
            missing[option] = declared
        for splat in (u for u in task.unresolved_options if u.startswith("**")):
            report(
                "non-literal-option",
                Severity.WARNING,
                f"task '{task.name}' takes options from {splat}, which cannot be read "
                f"({task.path}:{task.line}); check this call by hand",
            )
        return missing


def _describe(expr: ValueExpr | None) -> str:
    if isinstance(expr, Ref):
        return expr.name.rsplit(".", 1)[-1] if "." in expr.name else expr.name
    return "an expression"
