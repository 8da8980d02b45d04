"""Where a beat entry stands: in a real schedule, in a template, or in a test's expectation.

Every dict literal with a `"task"` and a `"schedule"` key gets its task's options, wherever it
is: templates kept in a list flow into beat at run time. But only an entry in a real schedule
position, or one that spells out its `args`/`kwargs`, carries all its task's arguments (a
scheduler may expand a template, adding `kwargs={"tenant_id": ...}`), so only there may missing
arguments be reported. Real positions are
the values of `beat_schedule`, `CELERY_BEAT_SCHEDULE` and `CELERYBEAT_SCHEDULE` (assigned, given
as a keyword such as `app.conf.update(beat_schedule=...)`, updated, or set item by item), and the
signature given to `app.add_periodic_task`. An entry in a comparison or an `assert` is what a
test expects, not a schedule: it is never edited.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field

SCHEDULE_NAMES = frozenset({"beat_schedule", "CELERY_BEAT_SCHEDULE", "CELERYBEAT_SCHEDULE"})
UPDATES = frozenset({"update", "setdefault"})


@dataclass
class Positions:
    """Ids of the nodes of one module: beat entries in a schedule, signatures given to
    `add_periodic_task`, and dicts inside a comparison or an `assert`."""

    scheduled: set[int] = field(default_factory=set)
    periodic: set[int] = field(default_factory=set)
    compared: set[int] = field(default_factory=set)


def positions(tree: ast.Module) -> Positions:
    found = Positions()
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign | ast.AnnAssign) and node.value is not None:
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                if _last_name(target) in SCHEDULE_NAMES:
                    _schedule(node.value, found.scheduled)
                elif isinstance(target, ast.Subscript) and _last_name(target.value) in (
                    SCHEDULE_NAMES
                ):
                    _entry(node.value, found.scheduled)
        elif isinstance(node, ast.Call):
            _call(node, found)
        elif isinstance(node, ast.Compare):
            for operand in (node.left, *node.comparators):
                found.compared.update(_dicts(operand))
        elif isinstance(node, ast.Assert):
            found.compared.update(_dicts(node.test))
    return found


def _call(node: ast.Call, found: Positions) -> None:
    for keyword in node.keywords:
        if keyword.arg in SCHEDULE_NAMES:  # app.conf.update(beat_schedule=...), Celery(...)
            _schedule(keyword.value, found.scheduled)
    func = node.func
    if isinstance(func, ast.Attribute):
        if func.attr in UPDATES and _last_name(func.value) in SCHEDULE_NAMES:
            if node.args:
                _schedule(node.args[0], found.scheduled)
            for keyword in node.keywords:
                _entry(keyword.value, found.scheduled)
        elif func.attr == "add_periodic_task":
            signature = node.args[1] if len(node.args) > 1 else None
            signature = next((k.value for k in node.keywords if k.arg == "sig"), signature)
            if isinstance(signature, ast.Call):
                found.periodic.add(id(signature))


def _last_name(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def _schedule(value: ast.expr, scheduled: set[int]) -> None:
    """The entries of a schedule written as a dict literal or `dict(name={...})`."""
    if isinstance(value, ast.Dict):
        for entry in value.values:
            _entry(entry, scheduled)
    elif isinstance(value, ast.Call) and _last_name(value.func) == "dict":
        for keyword in value.keywords:
            _entry(keyword.value, scheduled)


def _entry(value: ast.expr, scheduled: set[int]) -> None:
    if isinstance(value, ast.Dict):
        scheduled.add(id(value))


def _dicts(node: ast.expr) -> list[int]:
    return [id(sub) for sub in ast.walk(node) if isinstance(sub, ast.Dict)]
