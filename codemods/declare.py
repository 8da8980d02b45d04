"""`results`, writing: `ignore_result=True` on the declarations of tasks nobody reads.

`@app.task` becomes `@app.task(ignore_result=True)`; the keyword is appended to `@app.task(...)`
and `@shared_task(...)` (keeping the call's layout, as pass 2 does); a class-based task gets a
class attribute `ignore_result = True`. A misspelled keyword (`ignore_results=True`) is renamed
instead when asked. Only the top-level statement that holds the declaration is parsed with
libcst (declcst.py, imported only when an edit is made), and every edit is verified: the new
statement must parse and equal the original once the inserted keyword (or attribute) is taken
out, or the rename undone. A cached edit is verified the same way, without libcst.
"""

from __future__ import annotations

import ast
import bisect
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from codemods.astutil import literal_value
from codemods.model import StatementEdit
from codemods.rewrite import LINE, splice, statement_spans

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
    statements, problem = declaration_statements(source, tree, edits)
    if problem is not None:
        return source, problem
    return splice(source, statements), None


def declaration_statements(
    source: str, tree: ast.Module, edits: Sequence[DeclarationEdit]
) -> tuple[tuple[StatementEdit, ...], str | None]:
    """Each edited top-level statement's new text, verified; or what is wrong."""
    try:
        return _edit(source, tree, edits), None
    except Exception as error:  # libcst's own errors included: the file is left alone
        first_line = (str(error).strip().splitlines() or [""])[0]
        return (), f"{type(error).__name__}: {first_line}"


def reuse_declaration_statements(
    source: str,
    tree: ast.Module,
    statements: Sequence[StatementEdit],
    edits: Sequence[DeclarationEdit],
) -> str | None:
    """The new text from statements an edit rewrote before (a cache), verified again against
    `source` as a fresh edit is (without libcst); None when anything does not fit."""
    try:
        by_span = _by_span(tree, edits)
        spans = statement_spans(tree)
        if sorted(by_span) != list(by_span) or len(by_span) != len(statements):
            return None
        for (position, planned), statement in zip(sorted(by_span.items()), statements, strict=True):
            first, last, nodes = spans[position]
            if (statement.first, statement.last) != (first, last):
                return None
            before = ast.Module(body=nodes, type_ignores=[])
            located = [(edit, _locate(before, edit)) for edit in planned]
            if _verify(before, statement.text, located) is not None:
                return None
    except EditMismatch:
        return None
    return splice(source, statements)


def _by_span(
    tree: ast.Module, edits: Sequence[DeclarationEdit]
) -> dict[int, list[DeclarationEdit]]:
    starts = [span[0] for span in statement_spans(tree)]
    by_span: dict[int, list[DeclarationEdit]] = defaultdict(list)
    for edit in edits:
        position = bisect.bisect_right(starts, edit.line) - 1
        if position < 0:
            raise EditMismatch("no statement holds the declaration")
        by_span[position].append(edit)
    return dict(sorted(by_span.items()))


def _edit(
    source: str, tree: ast.Module, edits: Sequence[DeclarationEdit]
) -> tuple[StatementEdit, ...]:
    from codemods.declcst import edit_chunk

    lines = LINE.findall(source)
    spans = statement_spans(tree)
    done = []
    for position, planned in _by_span(tree, edits).items():
        first, last, statements = spans[position]
        chunk = "".join(lines[first - 1 : last])
        before = ast.Module(body=statements, type_ignores=[])
        located = [(edit, _locate(before, edit)) for edit in planned]
        new_chunk = edit_chunk(chunk, located)
        problem = _verify(before, new_chunk, located)
        if problem is not None:
            raise EditMismatch(problem)
        done.append(StatementEdit(first, last, new_chunk))
    return tuple(done)


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
