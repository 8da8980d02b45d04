"""Worker settings set at module level (`app.conf.x = ...`, `app.conf.update(...)`), with Python's
binding rules: a setting assigned on some paths only (under `if`/`else`, `try`, a loop, a `match`)
is one of several values, or maybe not set at all (`Alternatives`); it is copied to calls only
when every path agrees.
"""

from __future__ import annotations

import ast
from collections.abc import Callable

from codemods.bindings import is_never_run, is_suppress
from codemods.model import Alternatives, ValueExpr

# (app, setting or "**" for a dict of settings, value, line)
Event = tuple[str, str, ValueExpr, int]
Reader = Callable[[ast.stmt], list[tuple[str, str, ValueExpr]]]


def read_settings(
    body: list[ast.stmt], read: Reader, imports: dict[str, str]
) -> list[tuple[str, str, ValueExpr]]:
    """The settings module-level code makes, in order; `read` gives those of one statement."""
    return [(app, key, value) for app, key, value, _ in _block(body, read, imports)]


def maybe(value: ValueExpr, line: int) -> Alternatives:
    """A setting made on some paths only."""
    if isinstance(value, Alternatives):
        return Alternatives(value.options, value.lines, True)
    return Alternatives((value,), (line,), True)


def _block(body: list[ast.stmt], read: Reader, imports: dict[str, str]) -> list[Event]:
    events: list[Event] = []
    for node in body:
        if isinstance(node, ast.If):
            if is_never_run(node.test):
                events += _block(node.orelse, read, imports)
            else:
                events += _merge(
                    [_block(node.body, read, imports), _block(node.orelse, read, imports)]
                )
        elif isinstance(node, ast.For | ast.AsyncFor | ast.While):
            orelse = _block(node.orelse, read, imports)
            events += _merge([_block(node.body, read, imports) + orelse, orelse])
        elif isinstance(node, ast.Try) or type(node).__name__ == "TryStar":
            body_events = _block(node.body, read, imports)  # type: ignore[attr-defined]
            ok = body_events + _block(node.orelse, read, imports)  # type: ignore[attr-defined]
            handlers = node.handlers  # type: ignore[attr-defined]
            if handlers:
                partial = [(a, k, maybe(v, line), line) for a, k, v, line in body_events]
                paths = [ok] + [partial + _block(h.body, read, imports) for h in handlers]
                events += _merge(paths)
            else:
                events += ok
            events += _block(node.finalbody, read, imports)  # type: ignore[attr-defined]
        elif isinstance(node, ast.With | ast.AsyncWith):
            inner = _block(node.body, read, imports)
            if any(is_suppress(item.context_expr, imports) for item in node.items):
                events += _merge([inner, []])
            else:
                events += inner
        elif isinstance(node, ast.Match):
            paths = [_block(case.body, read, imports) for case in node.cases]
            events += _merge([*paths, []])
        elif not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            events += [(app, key, value, node.lineno) for app, key, value in read(node)]
    return events


def _merge(paths: list[list[Event]]) -> list[Event]:
    """One of `paths` runs: each setting made on any of them, as the alternatives they give."""
    if any(key == "**" for path in paths for _, key, _, _ in path):
        # Which settings a dict makes is only known later: all of them are uncertain.
        return [
            (app, key, maybe(value, line), line) for path in paths for app, key, value, line in path
        ]
    finals: list[dict[tuple[str, str], Event]] = []
    for path in paths:
        last: dict[tuple[str, str], Event] = {}
        for event in path:
            last[(event[0], event[1])] = event
        finals.append(last)
    merged: list[Event] = []
    for app, key in dict.fromkeys(k for final in finals for k in final):
        options: list[ValueExpr] = []
        lines: list[int] = []
        unset = False
        for final in finals:
            found = final.get((app, key))
            if found is None:
                unset = True
                continue
            value = found[2]
            if isinstance(value, Alternatives):
                options += value.options
                lines += value.lines
                unset = unset or value.maybe_unset
            else:
                options.append(value)
                lines.append(found[3])
        line = min(lines)
        if not unset and all(option == options[0] for option in options):
            merged.append((app, key, options[0], line))
        else:
            merged.append((app, key, Alternatives(tuple(options), tuple(lines), unset), line))
    return merged
