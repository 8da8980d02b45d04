"""libcst half of declare.py: `ignore_result=True` added to one decorator expression.

Only the decorator's own text is parsed (not the function under it), and libcst is imported only
when an edit is made (about 0.15 s); declare.py verifies the whole statement with `ast`.
"""

from __future__ import annotations

import libcst as cst

from codemods.cstedit import append_keywords
from codemods.declare import OPTION, RENAME, DeclarationEdit, EditMismatch

_CODE = cst.Module(body=[])


def edit_decorator(text: str, edit: DeclarationEdit) -> str:
    """The decorator expression `text` with the keyword added (or the misspelled one renamed)."""
    try:
        expression = cst.parse_expression(text)
    except cst.ParserSyntaxError as error:
        raise EditMismatch(f"libcst cannot read the decorator: {error.message}") from None
    if _CODE.code_for_node(expression) != text:
        raise EditMismatch("libcst does not reproduce the decorator exactly")
    return _CODE.code_for_node(_decorator(expression, edit))


def _true_keyword() -> cst.Arg:
    return cst.Arg(
        value=cst.Name("True"),
        keyword=cst.Name(OPTION),
        equal=cst.AssignEqual(
            whitespace_before=cst.SimpleWhitespace(""), whitespace_after=cst.SimpleWhitespace("")
        ),
    )


def _decorator(expr: cst.BaseExpression, edit: DeclarationEdit) -> cst.Call:
    if edit.kind == RENAME:
        if not isinstance(expr, cst.Call):
            raise EditMismatch("the decorator has no keywords to rename")
        args = [
            arg.with_changes(keyword=cst.Name(OPTION))
            if arg.keyword is not None and arg.keyword.value == edit.old_keyword
            else arg
            for arg in expr.args
        ]
        return expr.with_changes(args=args)
    if not isinstance(expr, cst.Call):
        return cst.Call(func=expr, args=[_true_keyword()])
    if not expr.args:
        return expr.with_changes(args=[_true_keyword()])
    return append_keywords(expr, {OPTION: True})
