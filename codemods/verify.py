"""Check a rewrite before anyone sees it: it parses, and it differs from the input only by the
planned keywords on the planned calls."""

from __future__ import annotations

import ast
from collections.abc import Collection, Iterable

from codemods.astutil import final_name, literal_value
from codemods.calls import candidate_order
from codemods.plan import Edit, same_value


def _candidates(tree: ast.Module, callees: Collection[str]) -> list[ast.Call]:
    calls = [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and final_name(node.func) in callees
    ]
    return candidate_order(calls)


def verify_rewrite(
    before: ast.Module, after_source: str, edits: Iterable[Edit], callees: Collection[str]
) -> str | None:
    """None when the rewrite is safe, else what is wrong with it."""
    try:
        after = ast.parse(after_source)
    except (SyntaxError, ValueError) as error:
        return f"the result does not parse: {error}"
    before_calls = _candidates(before, callees)
    after_calls = _candidates(after, callees)
    if len(before_calls) != len(after_calls):
        return "the result has a different number of calls"
    for edit in edits:
        if edit.ordinal >= len(after_calls):
            return f"no call {edit.ordinal} in the result"
        call = after_calls[edit.ordinal]
        kept = len(before_calls[edit.ordinal].keywords)
        inserted = call.keywords[kept:]
        if [k.arg for k in inserted] != list(edit.added):
            names = [k.arg for k in inserted]
            return f"line {edit.line}: inserted {names}, planned {list(edit.added)}"
        for keyword in inserted:
            if not same_value(literal_value(keyword.value), edit.added[keyword.arg or ""]):
                return f"line {edit.line}: {keyword.arg} has the wrong value"
        # Take the insertions out again: what remains must be the input, node for node.
        del call.keywords[kept:]
    if ast.dump(before) != ast.dump(after):
        return "the result differs from the input outside the inserted keywords"
    return None
