"""libcst half of declare.py: the transformer that adds `ignore_result=True` to declarations.

Imported only when an edit is made (libcst costs about 0.15 s to import); declare.py verifies
what it returns with `ast` alone.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence

import libcst as cst

from codemods.cstedit import append_keywords
from codemods.declare import OPTION, RENAME, DeclarationEdit, EditMismatch


def edit_chunk(chunk: str, located: list[tuple[DeclarationEdit, tuple[int, int]]]) -> str:
    ending = re.search(r"(\r\n|\r|\n)?$", chunk).group(0)  # type: ignore[union-attr]
    body = chunk[: len(chunk) - len(ending)]
    module = cst.parse_module(body)
    if module.code != body:
        raise EditMismatch("libcst does not reproduce this code exactly")
    transformer = _DeclarationEditor({(e.name, rank): (e, d) for e, (rank, d) in located})
    new_module = module.visit(transformer)
    if transformer.applied != len(located):
        raise EditMismatch(f"edited {transformer.applied} declarations, planned {len(located)}")
    return new_module.code + ending


def _true_keyword() -> cst.Arg:
    return cst.Arg(
        value=cst.Name("True"),
        keyword=cst.Name(OPTION),
        equal=cst.AssignEqual(
            whitespace_before=cst.SimpleWhitespace(""), whitespace_after=cst.SimpleWhitespace("")
        ),
    )


class _DeclarationEditor(cst.CSTTransformer):
    """Counts definitions by name in source order and edits the planned ones."""

    def __init__(self, planned: dict[tuple[str, int], tuple[DeclarationEdit, int]]) -> None:
        super().__init__()
        self.planned = planned
        self.applied = 0
        self.seen: dict[str, int] = defaultdict(int)
        self.current: list[tuple[DeclarationEdit, int] | None] = []

    def _enter(self, name: str) -> None:
        rank = self.seen[name]
        self.seen[name] += 1
        self.current.append(self.planned.get((name, rank)))

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        self._enter(node.name.value)
        return True

    def visit_ClassDef(self, node: cst.ClassDef) -> bool:
        self._enter(node.name.value)
        return True

    def leave_FunctionDef(
        self, original_node: cst.FunctionDef, updated_node: cst.FunctionDef
    ) -> cst.FunctionDef:
        plan = self.current.pop()
        if plan is None:
            return updated_node
        edit, position = plan
        decorators = list(updated_node.decorators)
        decorators[position] = decorators[position].with_changes(
            decorator=_decorator(decorators[position].decorator, edit)
        )
        self.applied += 1
        return updated_node.with_changes(decorators=decorators)

    def leave_ClassDef(
        self, original_node: cst.ClassDef, updated_node: cst.ClassDef
    ) -> cst.ClassDef:
        plan = self.current.pop()
        if plan is None:
            return updated_node
        body = updated_node.body
        if not isinstance(body, cst.IndentedBlock):
            raise EditMismatch("the class body is on the class line")
        statements = list(body.body)
        statements.insert(
            _attribute_position(statements), cst.parse_statement(f"{OPTION} = True\n")
        )
        self.applied += 1
        return updated_node.with_changes(body=body.with_changes(body=statements))


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


def _attribute_position(statements: Sequence[cst.BaseStatement]) -> int:
    """After the leading docstring and simple statements (`name = ...`), before any method."""
    position = 0
    for index, statement in enumerate(statements):
        if not isinstance(statement, cst.SimpleStatementLine):
            break
        position = index + 1
    return position
