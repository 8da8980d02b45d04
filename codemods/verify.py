"""Check a rewrite before anyone sees it: it parses, and it differs from the input only by the
planned options on the planned calls and beat entries."""

from __future__ import annotations

import ast
from collections.abc import Collection, Iterable, Mapping

from codemods.astutil import literal_value
from codemods.calls import candidate_nodes
from codemods.model import OptionValue
from codemods.plan import Edit, same_value


class Unsafe(Exception):
    """What makes a rewrite unsafe."""


def _key_index(node: ast.Dict, key: str) -> int | None:
    for i, k in enumerate(node.keys):
        if isinstance(k, ast.Constant) and k.value == key:
            return i
    return None


def _check_values(
    line: int, names: list[str], values: list[ast.expr], added: Mapping[str, OptionValue]
) -> None:
    if names != list(added):
        raise Unsafe(f"line {line}: inserted {names}, planned {list(added)}")
    for name, value in zip(names, values, strict=True):
        if not same_value(literal_value(value), added[name]):
            raise Unsafe(f"line {line}: {name} has the wrong value")


def _strip_dict_tail(
    line: int, node: ast.expr | None, kept: int, added: Mapping[str, OptionValue]
) -> None:
    if not isinstance(node, ast.Dict):
        raise Unsafe(f"line {line}: no options dict")
    keys = [k.value if isinstance(k, ast.Constant) else None for k in node.keys[kept:]]
    _check_values(line, keys, node.values[kept:], added)  # type: ignore[arg-type]
    del node.keys[kept:]
    del node.values[kept:]


def _options_dict(call: ast.Call) -> ast.expr | None:
    for keyword in call.keywords:
        if keyword.arg == "options":
            return keyword.value
    return call.args[3] if len(call.args) > 3 else None


def _undo(edit: Edit, before: ast.expr, after: ast.expr) -> None:
    """Take the edit's insertions out of `after`, checking they are exactly the planned ones."""
    if isinstance(before, ast.Call) and isinstance(after, ast.Call):
        if edit.target == "keywords":
            kept = len(before.keywords)
            inserted = after.keywords[kept:]
            _check_values(
                edit.line, [k.arg or "" for k in inserted], [k.value for k in inserted], edit.added
            )
            del after.keywords[kept:]
        else:
            old = _options_dict(before)
            _strip_dict_tail(
                edit.line,
                _options_dict(after),
                len(old.keys) if isinstance(old, ast.Dict) else 0,
                edit.added,
            )
    elif isinstance(before, ast.Dict) and isinstance(after, ast.Dict):
        position = _key_index(before, "options")
        if position is not None:
            old = before.values[position]
            kept = len(old.keys) if isinstance(old, ast.Dict) else 0
            _strip_dict_tail(edit.line, after.values[position], kept, edit.added)
        else:
            if len(after.keys) != len(before.keys) + 1 or _key_index(after, "options") != len(
                before.keys
            ):
                raise Unsafe(f"line {edit.line}: no options entry added")
            _strip_dict_tail(edit.line, after.values[-1], 0, edit.added)
            del after.keys[-1]
            del after.values[-1]
    else:
        raise Unsafe(f"line {edit.line}: the edited node is not the planned one")


def verify_statements(
    statements: list[ast.stmt], after_source: str, edits: Iterable[Edit], callees: Collection[str]
) -> str | None:
    """None when `after_source` is `statements` with exactly the planned insertions, else what is
    wrong with it. Called per edited top-level statement; the rest of the file is not touched."""
    before = ast.Module(body=statements, type_ignores=[])
    try:
        after = ast.parse(after_source)
    except (SyntaxError, ValueError) as error:
        return f"the result does not parse: {error}"
    old, new = candidate_nodes(before, callees), candidate_nodes(after, callees)
    if any(len(old[space]) != len(new[space]) for space in old):
        return "the result has a different number of calls"
    try:
        for edit in edits:
            if edit.ordinal >= len(new[edit.space]):
                raise Unsafe(f"no node {edit.space} {edit.ordinal} in the result")
            _undo(edit, old[edit.space][edit.ordinal], new[edit.space][edit.ordinal])
    except Unsafe as problem:
        return str(problem)
    if ast.dump(before) != ast.dump(after):
        return "the result differs from the input outside the inserted options"
    return None
