"""Add planned options to calls and dict literals with libcst, keeping the formatting.

A one-line call or dict stays on one line; in a multi-line one each new item gets its own line at
the indentation of the items, the trailing-comma style is kept, and comments stay where they were.
Existing items are never changed.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass

import libcst as cst

from codemods.model import OptionValue
from codemods.plan import Edit

Whitespace = cst.BaseParenthesizableWhitespace


class RewriteMismatch(Exception):
    """The libcst tree did not hold the nodes the plan was made for."""


class LayoutUnsupported(Exception):
    """libcst cannot edit this code without changing it elsewhere."""


def edit_source(
    source: str,
    edits: Iterable[Edit],
    callees: Collection[str],
    keep_line: Collection[tuple[str, int]] = (),
) -> str:
    """`source` (whole statements) with the edits made. The edits at the positions in
    `keep_line` put nothing on a new line where the closing bracket shares the last item's
    line: what follows the bracket on that line (an opt-out comment) stays on it."""
    # libcst drops a final lone "\r" and form feeds before the first statement: they are kept
    # aside and put back.
    ending = re.search(r"(\r\n|\r|\n)?$", source).group(0)  # type: ignore[union-attr]
    body = source[: len(source) - len(ending)]
    if re.search(r"\\(\r\n|\r|\n)$", body):  # `x; \` then an empty line: the ending is needed
        body, ending = source, ""
    leading = body[: len(body) - len(body.lstrip("\x0c"))]
    body = body[len(leading) :]
    module = cst.parse_module(body)
    if module.code != body:
        raise LayoutUnsupported("libcst does not reproduce this code exactly")
    by_position = {(edit.space, edit.ordinal): edit for edit in edits}
    rewriter = OptionAdder(by_position, callees, frozenset(keep_line))
    new_module = module.visit(rewriter)
    if rewriter.applied != set(by_position):
        raise RewriteMismatch(f"edited {sorted(rewriter.applied)}, planned {sorted(by_position)}")
    return leading + new_module.code + ending


def callee_name(func: cst.BaseExpression) -> str | None:
    if isinstance(func, cst.Attribute):
        return func.attr.value
    if isinstance(func, cst.Name):
        return func.value
    return None


def _string_key(element: cst.BaseDictElement) -> str | None:
    if isinstance(element, cst.DictElement) and isinstance(
        element.key, cst.SimpleString | cst.ConcatenatedString
    ):
        value = element.key.evaluated_value
        return value if isinstance(value, str) else None
    return None


def has_task_key(node: cst.Dict) -> bool:
    return any(_string_key(e) == "task" for e in node.elements)


class OptionAdder(cst.CSTTransformer):
    """Counts candidate calls and task dicts in source order and edits the planned ones."""

    def __init__(
        self,
        edits: Mapping[tuple[str, int], Edit],
        callees: Collection[str],
        keep_line: Collection[tuple[str, int]] = frozenset(),
    ) -> None:
        super().__init__()
        self.edits = edits
        self.callees = callees
        self.keep_line = keep_line
        self.applied: set[tuple[str, int]] = set()
        self._count = {"call": 0, "dict": 0}
        self._open: list[tuple[str, int] | None] = []

    def _enter(self, space: str, counted: bool) -> None:
        if counted:
            self._open.append((space, self._count[space]))
            self._count[space] += 1
        else:
            self._open.append(None)

    def _edit_for(self) -> tuple[Edit, bool] | None:
        """The edit of the node being left, and whether it keeps its closing line."""
        position = self._open.pop()
        if position is None or position not in self.edits:
            return None
        self.applied.add(position)
        return self.edits[position], position in self.keep_line

    def visit_Call(self, node: cst.Call) -> bool:
        self._enter("call", callee_name(node.func) in self.callees)
        return True

    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.Call:
        found = self._edit_for()
        if found is None:
            return updated_node
        edit, keep_line = found
        quote = _quote_style(updated_node.args[0].value if updated_node.args else None)
        if edit.target == "options":
            return _merge_into_options_arg(updated_node, edit.added, quote, keep_line)
        return append_keywords(updated_node, edit.added, quote, keep_line)

    def visit_Dict(self, node: cst.Dict) -> bool:
        self._enter("dict", has_task_key(node))
        return True

    def leave_Dict(self, original_node: cst.Dict, updated_node: cst.Dict) -> cst.Dict:
        found = self._edit_for()
        if found is None:
            return updated_node
        edit, keep_line = found
        task = next(e for e in updated_node.elements if _string_key(e) == "task")
        quote = _quote_style(task.key if isinstance(task, cst.DictElement) else None)
        return _merge_into_options_entry(updated_node, edit.added, quote, keep_line)


def render_literal(value: OptionValue, quote: str = '"') -> str:
    text = repr(value)
    if isinstance(value, str) and quote == '"' and text.startswith("'") and '"' not in value:
        text = f'"{text[1:-1]}"'
    return text


def _quote_style(node: cst.BaseExpression | None) -> str:
    if isinstance(node, cst.SimpleString) and node.quote in ("'", "'''"):
        return "'"
    return '"'


def _literal(value: OptionValue, quote: str) -> cst.BaseExpression:
    return cst.parse_expression(render_literal(value, quote))


@dataclass(frozen=True)
class _Layout:
    """Whitespace for appending items: between new items, after the last old one, at the end."""

    separator: Whitespace
    after_last: Whitespace
    closing: Whitespace


def _layout(
    before_items: list[Whitespace | None], closing: Whitespace, keep_line: bool = False
) -> _Layout:
    """New items go one per line, indented as the last item that starts a line; else inline.
    Inline too when `keep_line` and the closing bracket follows the last item on its line."""
    template = next(
        (ws for ws in reversed(before_items) if isinstance(ws, cst.ParenthesizedWhitespace)), None
    )
    if template is None or (keep_line and not isinstance(closing, cst.ParenthesizedWhitespace)):
        space = cst.SimpleWhitespace(" ")
        return _Layout(space, space, closing)
    template = template.with_changes(first_line=cst.TrailingWhitespace(), empty_lines=())
    if isinstance(closing, cst.ParenthesizedWhitespace):
        # A comment after the last item stays on its line; the closing bracket keeps its indent.
        return _Layout(
            template,
            template.with_changes(first_line=closing.first_line),
            closing.with_changes(first_line=cst.TrailingWhitespace()),
        )
    return _Layout(template, template, closing)


def _comma_after(item: cst.Arg | cst.BaseDictElement) -> Whitespace | None:
    return item.comma.whitespace_after if isinstance(item.comma, cst.Comma) else None


def append_keywords(
    call: cst.Call, added: Mapping[str, OptionValue], quote: str = '"', keep_line: bool = False
) -> cst.Call:
    if not call.args or not added:
        raise RewriteMismatch("no argument to append after")
    args = list(call.args)
    last = args[-1]
    trailing_comma = isinstance(last.comma, cst.Comma)
    closing = _comma_after(last) if trailing_comma else last.whitespace_after_arg
    assert closing is not None
    before = [call.whitespace_before_args, *(_comma_after(a) for a in args[:-1])]
    layout = _layout(before, closing, keep_line)
    new_args = [
        cst.Arg(
            value=_literal(value, quote),
            keyword=cst.Name(option),
            equal=cst.AssignEqual(
                whitespace_before=cst.SimpleWhitespace(""),
                whitespace_after=cst.SimpleWhitespace(""),
            ),
            comma=cst.Comma(whitespace_after=layout.separator),
        )
        for option, value in added.items()
    ]
    if trailing_comma:
        assert isinstance(last.comma, cst.Comma)
        args[-1] = last.with_changes(
            comma=last.comma.with_changes(whitespace_after=layout.after_last)
        )
        new_args[-1] = new_args[-1].with_changes(comma=cst.Comma(whitespace_after=layout.closing))
    else:
        args[-1] = last.with_changes(
            whitespace_after_arg=cst.SimpleWhitespace(""),
            comma=cst.Comma(whitespace_after=layout.after_last),
        )
        new_args[-1] = new_args[-1].with_changes(
            comma=cst.MaybeSentinel.DEFAULT, whitespace_after_arg=layout.closing
        )
    return call.with_changes(args=[*args, *new_args])


def append_entries(
    node: cst.Dict, added: Mapping[str, OptionValue], quote: str = '"', keep_line: bool = False
) -> cst.Dict:
    return _append_dict_elements(
        node,
        [
            cst.DictElement(
                key=_literal(option, quote),
                value=_literal(value, quote),
                whitespace_before_colon=cst.SimpleWhitespace(""),
                whitespace_after_colon=cst.SimpleWhitespace(" "),
            )
            for option, value in added.items()
        ],
        keep_line,
    )


def _append_dict_elements(
    node: cst.Dict, new: list[cst.DictElement], keep_line: bool = False
) -> cst.Dict:
    elements = list(node.elements)
    if not elements:
        joined = [
            e.with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))) for e in new
        ]
        joined[-1] = joined[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
        return node.with_changes(elements=joined)
    last = elements[-1]
    trailing_comma = isinstance(last.comma, cst.Comma)
    closing = node.rbrace.whitespace_before
    before = [node.lbrace.whitespace_after, *(_comma_after(e) for e in elements[:-1])]
    layout = _layout(before, closing, keep_line)
    new = [e.with_changes(comma=cst.Comma(whitespace_after=layout.separator)) for e in new]
    new[-1] = new[-1].with_changes(
        comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(""))
        if trailing_comma
        else cst.MaybeSentinel.DEFAULT
    )
    comma = last.comma if isinstance(last.comma, cst.Comma) else cst.Comma()
    elements[-1] = last.with_changes(comma=comma.with_changes(whitespace_after=layout.after_last))
    return node.with_changes(
        elements=[*elements, *new],
        rbrace=node.rbrace.with_changes(whitespace_before=layout.closing),
    )


def _merge_into_options_arg(
    call: cst.Call, added: Mapping[str, OptionValue], quote: str, keep_line: bool = False
) -> cst.Call:
    """`signature("x", options={...})`: the new options go into that dict."""
    args = list(call.args)
    positional = [i for i, a in enumerate(args) if a.keyword is None and not a.star]
    for i, arg in enumerate(args):
        is_options = (arg.keyword is not None and arg.keyword.value == "options") or (
            arg.keyword is None and len(positional) > 3 and i == positional[3]
        )
        if is_options and isinstance(arg.value, cst.Dict):
            args[i] = arg.with_changes(value=append_entries(arg.value, added, quote, keep_line))
            return call.with_changes(args=args)
    raise RewriteMismatch("the call has no options dict")


def _merge_into_options_entry(
    node: cst.Dict, added: Mapping[str, OptionValue], quote: str, keep_line: bool = False
) -> cst.Dict:
    """A beat entry: into its "options" dict, or a new "options" entry."""
    elements = list(node.elements)
    for i, element in enumerate(elements):
        if _string_key(element) == "options":
            assert isinstance(element, cst.DictElement)
            if not isinstance(element.value, cst.Dict):
                raise RewriteMismatch("the entry's options is not a dict literal")
            elements[i] = element.with_changes(
                value=append_entries(element.value, added, quote, keep_line)
            )
            return node.with_changes(elements=elements)
    options = append_entries(cst.Dict(elements=[]), added, quote)
    entry = cst.DictElement(
        key=_literal("options", quote),
        value=options,
        whitespace_before_colon=cst.SimpleWhitespace(""),
        whitespace_after_colon=cst.SimpleWhitespace(" "),
    )
    return _append_dict_elements(node, [entry], keep_line)
