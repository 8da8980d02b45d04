"""Append planned keywords to calls with libcst, keeping the formatting.

A one-line call stays on one line; in a multi-line call each new keyword gets its own line at the
indentation of the arguments, the trailing-comma style is kept, and comments stay where they were.
Existing arguments are never changed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import libcst as cst

from codemods.calls import CANDIDATE_CALLEES
from codemods.model import OptionValue
from codemods.plan import Edit


class RewriteMismatch(Exception):
    """The libcst tree did not hold the calls the plan was made for."""


def edit_source(source: str, edits: Iterable[Edit]) -> str:
    module = cst.parse_module(source)
    by_ordinal = {edit.ordinal: edit for edit in edits}
    rewriter = SendTaskRewriter(by_ordinal)
    new_module = module.visit(rewriter)
    if rewriter.applied != set(by_ordinal):
        raise RewriteMismatch(
            f"edited calls {sorted(rewriter.applied)}, planned {sorted(by_ordinal)}"
        )
    return new_module.code


def _callee(func: cst.BaseExpression) -> str | None:
    if isinstance(func, cst.Attribute):
        return func.attr.value
    if isinstance(func, cst.Name):
        return func.value
    return None


class SendTaskRewriter(cst.CSTTransformer):
    """Appends keywords to the calls whose candidate ordinal has an edit."""

    def __init__(self, edits: Mapping[int, Edit]) -> None:
        super().__init__()
        self.edits = edits
        self.applied: set[int] = set()
        self._count = 0
        self._open: list[int | None] = []

    def visit_Call(self, node: cst.Call) -> bool:
        if _callee(node.func) in CANDIDATE_CALLEES:
            self._open.append(self._count)
            self._count += 1
        else:
            self._open.append(None)
        return True

    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.Call:
        ordinal = self._open.pop()
        if ordinal is None or ordinal not in self.edits:
            return updated_node
        self.applied.add(ordinal)
        return append_keywords(updated_node, self.edits[ordinal].added)


def render_literal(value: OptionValue, quote: str = '"') -> str:
    text = repr(value)
    if isinstance(value, str) and quote == '"' and text.startswith("'") and '"' not in value:
        text = f'"{text[1:-1]}"'
    return text


def _quote_style(call: cst.Call) -> str:
    first = call.args[0].value if call.args else None
    if isinstance(first, cst.SimpleString) and first.quote in ("'", "'''"):
        return "'"
    return '"'


def _line_start_template(call: cst.Call) -> cst.ParenthesizedWhitespace | None:
    """The whitespace before the last argument that starts its own line (newline + indent)."""
    args = call.args
    for i in range(len(args) - 1, -1, -1):
        before = call.whitespace_before_args if i == 0 else _comma_after(args[i - 1])
        if isinstance(before, cst.ParenthesizedWhitespace):
            return before.with_changes(first_line=cst.TrailingWhitespace(), empty_lines=())
    return None


def _comma_after(arg: cst.Arg) -> cst.BaseParenthesizableWhitespace | None:
    return arg.comma.whitespace_after if isinstance(arg.comma, cst.Comma) else None


def append_keywords(call: cst.Call, added: Mapping[str, OptionValue]) -> cst.Call:
    if not call.args or not added:
        raise RewriteMismatch("no argument to append after")
    args = list(call.args)
    last = args[-1]
    trailing_comma = isinstance(last.comma, cst.Comma)
    closing: cst.BaseParenthesizableWhitespace = (
        last.comma.whitespace_after
        if isinstance(last.comma, cst.Comma)
        else last.whitespace_after_arg
    )
    template = _line_start_template(call)
    quote = _quote_style(call)
    new_args = [
        cst.Arg(
            value=cst.parse_expression(render_literal(value, quote)),
            keyword=cst.Name(option),
            equal=cst.AssignEqual(
                whitespace_before=cst.SimpleWhitespace(""),
                whitespace_after=cst.SimpleWhitespace(""),
            ),
        )
        for option, value in added.items()
    ]
    if template is None:
        # Inline: ", a=1, b=2" after the last argument; whatever closed the call closes it still.
        separator: cst.BaseParenthesizableWhitespace = cst.SimpleWhitespace(" ")
        after_last = separator
        final_closing = closing
    else:
        # One keyword per line; a comment after the last argument stays on its line.
        separator = template
        if isinstance(closing, cst.ParenthesizedWhitespace):
            after_last = template.with_changes(first_line=closing.first_line)
            final_closing = closing.with_changes(first_line=cst.TrailingWhitespace())
        else:
            after_last = template
            final_closing = closing
    if trailing_comma:
        assert isinstance(last.comma, cst.Comma)
        args[-1] = last.with_changes(comma=last.comma.with_changes(whitespace_after=after_last))
    else:
        args[-1] = last.with_changes(
            whitespace_after_arg=cst.SimpleWhitespace(""),
            comma=cst.Comma(whitespace_after=after_last),
        )
    for i, arg in enumerate(new_args):
        if i < len(new_args) - 1:
            new_args[i] = arg.with_changes(comma=cst.Comma(whitespace_after=separator))
        elif trailing_comma:
            new_args[i] = arg.with_changes(comma=cst.Comma(whitespace_after=final_closing))
        else:
            new_args[i] = arg.with_changes(whitespace_after_arg=final_closing)
    return call.with_changes(args=[*args, *new_args])
