"""`results`, writing: `ignore_result=True` on the declarations of tasks nobody reads.

`@app.task` becomes `@app.task(ignore_result=True)`; the keyword is appended to `@app.task(...)`
and `@shared_task(...)` (keeping the call's layout, as pass 2 does); a class-based task gets a
class attribute `ignore_result = True`. A misspelled keyword (`ignore_results=True`) is renamed
instead when asked. A rename, a bare decorator and a call on one line are plain insertions; only
a call over several lines is edited with libcst (declcst.py, imported only then), which keeps its
layout; a class attribute is a line inserted. Every edit is verified: the
top-level statement holding it must parse and equal the original once the inserted keyword (or
attribute) is taken out, or the rename undone. A cached edit is verified the same way.
"""

from __future__ import annotations

import ast
import bisect
import io
import tokenize
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace

from codemods.astutil import literal_value
from codemods.model import StatementEdit
from codemods.rewrite import LINE, splice, statement_spans

# Statements with a body: a class attribute goes before the first of them.
_COMPOUND = (
    ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.If, ast.For, ast.AsyncFor, ast.While,
    ast.With, ast.AsyncWith, ast.Try, ast.Match,
)  # fmt: skip
# Nodes whose bodies may hold a definition.
_HOLDERS = (ast.stmt, ast.excepthandler, ast.match_case)
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


def relocate(
    edits: Sequence[DeclarationEdit], old: ast.Module, new: ast.Module
) -> list[DeclarationEdit]:
    """The edits made for `old` placed on the same declarations in `new`, another version of the
    file (HEAD's, for patches): a declaration is the definition of its name with the same
    decorator (or, for a class, the same bases, keywords and decorators), as written; the n-th
    of several alike is the n-th there. Raises EditMismatch when `new` does not hold as many
    alike, or a class there already sets `ignore_result`."""
    placed = []
    for edit in edits:
        rank, position = _locate(old, edit)
        node = _nth(old, edit.name, rank)
        written = _written(node, position)
        before = _alike(old, edit, written)
        after = _alike(new, edit, written)
        if len(before) != len(after):
            raise EditMismatch(f"the declaration of '{edit.name}' is not there as it is here")
        found, line = after[[n for n, _ in before].index(node)]
        if edit.kind == ATTRIBUTE and _sets_option(found):
            raise EditMismatch(f"the class '{edit.name}' already sets {OPTION} there")
        placed.append(replace(edit, line=line))
    return placed


def _written(node: ast.AST, position: int) -> str:
    """What identifies a declaration as written: its decorator, or a class's bases, keywords
    and decorators (without positions)."""
    if isinstance(node, ast.ClassDef):
        parts = (node.bases, node.keywords, node.decorator_list)
        return repr([[ast.dump(item) for item in part] for part in parts])
    assert isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
    return ast.dump(node.decorator_list[position])


def _alike(module: ast.Module, edit: DeclarationEdit, written: str) -> list[tuple[ast.AST, int]]:
    """The definitions of the edit's name written alike, in source order, with the line an edit
    names: the class's, or the decorator's."""
    found: list[tuple[ast.AST, int]] = []
    for node in _definitions(module):
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            continue
        if node.name != edit.name or isinstance(node, ast.ClassDef) != (edit.kind == ATTRIBUTE):
            continue
        if isinstance(node, ast.ClassDef):
            if _written(node, -1) == written:
                found.append((node, node.lineno))
            continue
        for position, decorator in enumerate(node.decorator_list):
            if _written(node, position) == written:
                found.append((node, decorator.lineno))
                break
    return found


def _sets_option(node: ast.AST) -> bool:
    """A class body that assigns `ignore_result` itself."""
    assert isinstance(node, ast.ClassDef)
    for statement in node.body:
        targets = (
            statement.targets
            if isinstance(statement, ast.Assign)
            else [statement.target]
            if isinstance(statement, ast.AnnAssign | ast.AugAssign)
            else []
        )
        if any(isinstance(t, ast.Name) and t.id == OPTION for t in targets):
            return True
    return False


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
    lines = LINE.findall(source)
    spans = statement_spans(tree)
    done = []
    for position, planned in _by_span(tree, edits).items():
        first, last, statements = spans[position]
        chunk_lines = lines[first - 1 : last]
        before = ast.Module(body=statements, type_ignores=[])
        located = [(edit, _locate(before, edit)) for edit in planned]
        new_chunk = _edit_chunk(chunk_lines, first, before, located)
        problem = _verify(before, new_chunk, located)
        if problem is not None:
            raise EditMismatch(problem)
        done.append(StatementEdit(first, last, new_chunk))
    return tuple(done)


def _edit_chunk(
    chunk_lines: list[str],
    first: int,
    before: ast.Module,
    located: list[tuple[DeclarationEdit, tuple[int, int]]],
) -> str:
    """The statement's lines with each edit made in place, the last in the file first: a
    decorator's own text rewritten by libcst, or a line inserted for a class attribute."""
    chunk = "".join(chunk_lines)
    starts = [0]
    for line in chunk_lines:
        starts.append(starts[-1] + len(line))

    def offset(line: int, column: int) -> int:  # ast columns count UTF-8 bytes
        text = chunk_lines[line - first]
        return starts[line - first] + len(text.encode("utf-8")[:column].decode("utf-8"))

    changes: list[tuple[int, int, str]] = []
    for edit, (rank, position) in located:
        node = _nth(before, edit.name, rank)
        if edit.kind == ATTRIBUTE:
            assert isinstance(node, ast.ClassDef)
            changes.append(_attribute_insertion(node, chunk_lines, first, starts))
            continue
        assert not isinstance(node, ast.ClassDef)
        decorator = node.decorator_list[position]
        assert decorator.end_lineno is not None and decorator.end_col_offset is not None
        start = offset(decorator.lineno, decorator.col_offset)
        end = offset(decorator.end_lineno, decorator.end_col_offset)
        simple = _text_edit(decorator, edit, chunk, offset)
        if simple is not None:
            changes.append(simple)
            continue
        appended = _appended_keyword(chunk[start:end])
        if appended is not None:
            changes.append((start, end, appended))
            continue
        from codemods.declcst import edit_decorator  # libcst: a layout the text edit leaves

        changes.append((start, end, edit_decorator(chunk[start:end], edit)))
    for start, end, text in sorted(changes, reverse=True):
        chunk = chunk[:start] + text + chunk[end:]
    return chunk


def _text_edit(
    decorator: ast.expr,
    edit: DeclarationEdit,
    chunk: str,
    offset: Callable[[int, int], int],
) -> tuple[int, int, str] | None:
    """The edit as a plain insertion (or a rename) where that gives what libcst would: a rename,
    a bare decorator, or a call on one line. None for a call over several lines (its layout is
    libcst's to keep)."""
    if edit.kind == RENAME:
        if not isinstance(decorator, ast.Call):
            raise EditMismatch("the decorator has no keywords to rename")
        for keyword in decorator.keywords:
            if keyword.arg == edit.old_keyword:
                at = offset(keyword.lineno, keyword.col_offset)
                if chunk.startswith(edit.old_keyword, at):
                    return at, at + len(edit.old_keyword), OPTION
        raise EditMismatch(f"the decorator has no {edit.old_keyword}=")
    assert decorator.end_lineno is not None and decorator.end_col_offset is not None
    end = offset(decorator.end_lineno, decorator.end_col_offset)
    if not isinstance(decorator, ast.Call):
        return end, end, f"({OPTION}=True)"
    if decorator.lineno != decorator.end_lineno:
        return None
    arguments: list[ast.expr | ast.keyword] = [*decorator.args, *decorator.keywords]
    if not arguments:
        closing = chunk.rindex(")", 0, end)
        return closing, closing, f"{OPTION}=True"
    last = max(arguments, key=lambda a: (a.end_lineno or 0, a.end_col_offset or 0))
    assert last.end_lineno is not None and last.end_col_offset is not None
    after_last = offset(last.end_lineno, last.end_col_offset)
    comma = chunk.find(",", after_last, end)
    if comma >= 0:  # a trailing comma: the new keyword goes after it, and gets its own
        return comma + 1, comma + 1, f" {OPTION}=True,"
    return after_last, after_last, f", {OPTION}=True"


def _appended_keyword(text: str) -> str | None:
    """`text`, a call over several lines, with `ignore_result=True` appended as libcst's
    `cstedit.append_keywords` lays a new keyword out: on its own line at the indentation of the
    last argument that starts a line (else after a space), the trailing-comma style kept, a
    comment after the last argument kept on its line. None for a call without arguments or text
    with line continuations, `\\r` or form feeds: libcst edits those."""
    if "\\" in text or "\r" in text or "\x0c" in text:
        return None
    starts = [0]
    for line in text.splitlines(keepends=True):
        starts.append(starts[-1] + len(line))
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(text).readline))
    except (tokenize.TokenError, SyntaxError):
        return None
    depth, opening = 0, -1
    for position, token in enumerate(tokens):
        if token.type == tokenize.OP and token.string in "([{":
            if depth == 0 and token.string == "(":
                opening = position  # the call's own bracket is the last opened at depth 0
            depth += 1
        elif token.type == tokenize.OP and token.string in ")]}":
            depth -= 1
    if opening < 0:
        return None
    # Inside the call's brackets: where each argument starts and ends, and the commas.
    separators = [_offset(starts, tokens[opening].end)]  # after `(`, then after each comma
    spans: list[list[int]] = [[]]
    depth = 0
    close = -1
    for token in tokens[opening + 1 :]:
        at, end = _offset(starts, token.start), _offset(starts, token.end)
        if token.type == tokenize.OP and token.string in ")]}" and depth == 0:
            close = at
            break
        if token.type in (tokenize.NL, tokenize.COMMENT):
            continue
        if token.type == tokenize.OP and token.string == "," and depth == 0:
            separators.append(end)
            spans.append([])
            continue
        if token.type == tokenize.OP:
            depth += (token.string in "([{") - (token.string in ")]}")
        spans[-1] = [spans[-1][0] if spans[-1] else at, end]
    if close < 0 or text[close:] != ")":
        return None
    trailing_comma = not spans[-1]
    arguments = spans[:-1] if trailing_comma else spans
    if not arguments or any(not span for span in arguments):
        return None
    # The whitespace before each argument; the last that holds a line break is the template.
    before = [text[separators[i] : arguments[i][0]] for i in range(len(arguments))]
    template = next((ws for ws in reversed(before) if "\n" in ws), None)
    last_end = arguments[-1][1]
    cut = separators[-1] if trailing_comma else last_end
    closing = text[cut:close]
    if template is None:
        after_last = " "
    elif "\n" in closing:
        first_line, _, rest = closing.partition("\n")
        after_last = first_line + "\n" + template.rpartition("\n")[2]
        closing = "\n" + rest
    else:
        after_last = "\n" + template.rpartition("\n")[2]
    if trailing_comma:
        return f"{text[:cut]}{after_last}{OPTION}=True,{closing}{text[close:]}"
    return f"{text[:cut]},{after_last}{OPTION}=True{closing}{text[close:]}"


def _offset(starts: list[int], position: tuple[int, int]) -> int:
    row, column = position
    return starts[row - 1] + column


def _attribute_insertion(
    node: ast.ClassDef, chunk_lines: list[str], first: int, starts: list[int]
) -> tuple[int, int, str]:
    """A line `ignore_result = True` after the class's leading docstring and simple statements
    (`name = ...`), indented as its body."""
    body = node.body
    if body[0].lineno == node.lineno:
        raise EditMismatch("the class body is on the class line")
    leading = 0
    while leading < len(body) and not isinstance(body[leading], _COMPOUND):
        leading += 1
    first_line = chunk_lines[body[0].lineno - first]
    indent = first_line[: len(first_line) - len(first_line.lstrip(" \t"))]
    if leading:
        after = body[leading - 1].end_lineno or body[leading - 1].lineno
        at = starts[after - first + 1]
        ending = _ending(chunk_lines[after - first]) or _ending(chunk_lines[0]) or "\n"
        prefix = "" if _ending(chunk_lines[after - first]) else ending
        return at, at, f"{prefix}{indent}{OPTION} = True{ending}"
    target = body[0]
    line = min([target.lineno, *(d.lineno for d in getattr(target, "decorator_list", []))])
    at = starts[line - first]
    ending = _ending(chunk_lines[line - first]) or "\n"
    return at, at, f"{indent}{OPTION} = True{ending}"


def _ending(line: str) -> str:
    return line[len(line.rstrip("\r\n")) :]


def _definitions(node: ast.AST) -> Iterator[ast.AST]:
    """Function and class definitions in source order (a pre-order walk, as libcst visits).
    Only statements hold definitions: expressions are not entered."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            yield child
        if isinstance(child, _HOLDERS):
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
    if not same_tree(before, after):
        return "the result differs from the input outside the edited declarations"
    return None


def same_tree(first: ast.AST, second: ast.AST) -> bool:
    """Whether two trees are equal as `ast.dump` shows them (their fields, not their
    positions), without building the two dumps."""
    pending: list[tuple[object, object]] = [(first, second)]
    while pending:
        one, other = pending.pop()
        if type(one) is not type(other):
            return False
        if isinstance(one, ast.AST):
            pending.extend((getattr(one, f, None), getattr(other, f, None)) for f in one._fields)
        elif isinstance(one, list):
            assert isinstance(other, list)
            if len(one) != len(other):
                return False
            pending.extend(zip(one, other, strict=True))
        elif one is not other and repr(one) != repr(other):  # a constant, as the dump shows it
            return False
    return True


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
