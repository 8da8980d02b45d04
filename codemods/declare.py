"""`results`, writing: `ignore_result=True` on the declarations of tasks nobody reads.

`@app.task` becomes `@app.task(ignore_result=True)`; the keyword is appended to `@app.task(...)`
and `@shared_task(...)` (keeping the call's layout, as pass 2 does); a class-based task gets a
class attribute `ignore_result = True`. A misspelled keyword (`ignore_results=True`) is renamed
instead when asked. Only the top-level statement that holds the declaration is parsed with
libcst (imported with this module: only runs that edit declarations load it), and every edit
is verified: the new statement must parse and equal the original once the inserted keyword (or
attribute) is taken out, or the rename undone.
"""

from __future__ import annotations

import ast
import bisect
import re
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import libcst as cst

from codemods.astutil import literal_value
from codemods.cstedit import append_keywords
from codemods.rewrite import LINE, statement_spans

KEYWORD = "keyword"  # append `ignore_result=True` to the decorator
ATTRIBUTE = "attribute"  # add `ignore_result = True` to the task class
RENAME = "rename"  # rename a misspelled keyword of the decorator to `ignore_result`
OPTION = "ignore_result"


@dataclass(frozen=True, slots=True)
class DeclarationEdit:
    """One edit: the function's decorator at `line` (or the class at `line`) named `name`."""

    line: int
    name: str
    kind: str
    old_keyword: str = ""  # for RENAME


class EditMismatch(Exception):
    """The declaration is not where, or not what, the edit expects; says why."""


def edit_declarations(
    source: str, tree: ast.Module, edits: Sequence[DeclarationEdit]
) -> tuple[str, str | None]:
    """Apply the edits, one top-level statement at a time; (new source, None), or (source, what
    is wrong) when an edit cannot be made or does not verify."""
    try:
        return _edit(source, tree, edits), None
    except Exception as error:  # libcst's own errors included: the file is left alone
        first_line = (str(error).strip().splitlines() or [""])[0]
        return source, f"{type(error).__name__}: {first_line}"


def _edit(source: str, tree: ast.Module, edits: Sequence[DeclarationEdit]) -> str:
    lines = LINE.findall(source)
    spans = statement_spans(tree)
    starts = [span[0] for span in spans]
    by_span: dict[int, list[DeclarationEdit]] = defaultdict(list)
    for edit in edits:
        by_span[bisect.bisect_right(starts, edit.line) - 1].append(edit)
    for position in sorted(by_span, reverse=True):
        if position < 0:
            raise EditMismatch("no statement holds the declaration")
        first, last, statements = spans[position]
        chunk = "".join(lines[first - 1 : last])
        before = ast.Module(body=statements, type_ignores=[])
        located = [(edit, _locate(before, edit)) for edit in by_span[position]]
        new_chunk = _edit_chunk(chunk, located)
        problem = _verify(before, new_chunk, located)
        if problem is not None:
            raise EditMismatch(problem)
        lines[first - 1 : last] = [new_chunk]
    return "".join(lines)


def _definitions(node: ast.AST) -> Iterator[ast.AST]:
    """Function and class definitions in source order (a pre-order walk, as libcst visits)."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            yield child
        yield from _definitions(child)


def _locate(module: ast.Module, edit: DeclarationEdit) -> tuple[int, int]:
    """(rank among same-named definitions, decorator index) of the edit's declaration."""
    rank = 0
    for node in _definitions(module):
        assert isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
        if node.name != edit.name:
            continue
        if edit.kind == ATTRIBUTE and isinstance(node, ast.ClassDef) and node.lineno == edit.line:
            return rank, -1
        if edit.kind != ATTRIBUTE:
            for position, decorator in enumerate(node.decorator_list):
                if decorator.lineno == edit.line:
                    return rank, position
        rank += 1
    raise EditMismatch(f"no declaration of '{edit.name}' on line {edit.line}")


def _nth(
    module: ast.Module, name: str, rank: int
) -> ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef:
    found = [
        node
        for node in _definitions(module)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
        and node.name == name
    ]
    if rank >= len(found):
        raise EditMismatch(f"the result has no declaration '{name}'")
    return found[rank]


# -- libcst ---------------------------------------------------------------------------------------


def _edit_chunk(chunk: str, located: list[tuple[DeclarationEdit, tuple[int, int]]]) -> str:
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


# -- verification ---------------------------------------------------------------------------------


def _verify(
    before: ast.Module, new_chunk: str, located: list[tuple[DeclarationEdit, tuple[int, int]]]
) -> str | None:
    """None when `new_chunk` is `before` with exactly the planned edits, else what is wrong."""
    try:
        after = ast.parse(new_chunk)
    except (SyntaxError, ValueError) as error:
        return f"the result does not parse: {error}"
    try:
        for edit, (rank, position) in located:
            old = _nth(before, edit.name, rank)
            new = _nth(after, edit.name, rank)
            if edit.kind == ATTRIBUTE:
                _undo_attribute(old, new)
            else:
                assert not isinstance(old, ast.ClassDef) and not isinstance(new, ast.ClassDef)
                _undo_decorator(edit, old.decorator_list[position], new, position)
    except EditMismatch as problem:
        return str(problem)
    if ast.dump(before) != ast.dump(after):
        return "the result differs from the input outside the edited declarations"
    return None


def _undo_decorator(
    edit: DeclarationEdit,
    old: ast.expr,
    new_def: ast.FunctionDef | ast.AsyncFunctionDef,
    position: int,
) -> None:
    new = new_def.decorator_list[position]
    if not isinstance(new, ast.Call):
        raise EditMismatch("the decorator is not a call after the edit")
    if edit.kind == RENAME:
        renamed = [k for k in new.keywords if k.arg == OPTION]
        if len(renamed) != 1:
            raise EditMismatch("the renamed keyword is not there once")
        renamed[0].arg = edit.old_keyword
        return
    last = new.keywords[-1] if new.keywords else None
    if last is None or last.arg != OPTION or literal_value(last.value) is not True:
        raise EditMismatch(f"the decorator does not end with {OPTION}=True")
    del new.keywords[-1]
    if not isinstance(old, ast.Call):
        if new.args or new.keywords:
            raise EditMismatch("the bare decorator got other arguments")
        new_def.decorator_list[position] = new.func


def _undo_attribute(old: ast.AST, new: ast.AST) -> None:
    assert isinstance(old, ast.ClassDef)
    if not isinstance(new, ast.ClassDef) or len(new.body) != len(old.body) + 1:
        raise EditMismatch("the class did not get one more statement")
    for index, statement in enumerate(new.body):
        if (
            isinstance(statement, ast.Assign)
            and [getattr(t, "id", None) for t in statement.targets] == [OPTION]
            and literal_value(statement.value) is True
        ):
            del new.body[index]
            return
    raise EditMismatch(f"the class has no {OPTION} = True")
