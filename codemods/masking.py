"""Large literals masked by placeholder names before an edited statement goes to libcst.

libcst's parse, visit and code generation cost grows with every token of a statement, and it
cannot parse thousands of implicitly joined strings at all; the edit only ever touches the
argument list of a call or the items of a dict. So literals that hold no candidate node (a
900-element `args` list, a long string) are replaced by a unique name, the statement is edited
and verified in that form, and the literals' text is put back. A literal here is an atom of the
grammar (a string or number, or a bracketed list, tuple, set or dict), so it parses the same
wherever a name parses: putting its text back where the name was changes nothing else.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from codemods.astutil import final_name

# Shorter literals are left in place: masking them saves libcst less than it costs.
MIN_MASKED = 48
PLACEHOLDER = "__celery_codemod_literal_{}__"
PLACEHOLDER_PATTERN = re.compile(r"__celery_codemod_literal_(\d+)__")
ATOMS = (ast.List, ast.Tuple, ast.Set, ast.Dict, ast.Constant)
# Lines as Python numbers them: only \r\n, \r and \n end one.
LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$")


@dataclass(frozen=True)
class Masked:
    text: str
    originals: tuple[str, ...]  # the text each placeholder stands for, by number


class Unmasked(Exception):
    """The edited text does not hold each placeholder exactly once."""


def mask(
    chunk: str, first_line: int, statements: Sequence[ast.stmt], callees: Collection[str]
) -> Masked:
    """`chunk` (the source of `statements`, which start on `first_line` of the file) with its
    large literals replaced by placeholders. Literals whose text names a callee or holds
    "task" are kept (they may hold a node the edit counts); so are the task name (its quotes
    set the style of inserted strings) and `options` dicts (the edit may add to them)."""
    if "__celery_codemod_literal_" in chunk:
        return Masked(chunk, ())
    lines = LINE.findall(chunk)
    starts = _line_starts(lines)
    spans: list[tuple[int, int]] = []
    stack: list[ast.AST] = list(reversed(statements))
    kept: set[int] = set()
    while stack:
        node = stack.pop()
        if isinstance(node, ast.JoinedStr):  # positions inside f-strings are not reliable
            continue
        if isinstance(node, ATOMS) and id(node) not in kept:
            span = _span(node, first_line, starts, lines)
            if span is not None and _maskable(node, chunk[span[0] : span[1]], callees):
                spans.append(span)
                continue
        kept.update(_protected(node, callees))
        stack.extend(reversed(list(ast.iter_child_nodes(node))))
    if not spans:
        return Masked(chunk, ())
    pieces: list[str] = []
    originals: list[str] = []
    previous = 0
    for start, end in sorted(spans):
        pieces.append(chunk[previous:start])
        pieces.append(PLACEHOLDER.format(len(originals)))
        originals.append(chunk[start:end])
        previous = end
    pieces.append(chunk[previous:])
    return Masked("".join(pieces), tuple(originals))


def unmask(text: str, masked: Masked) -> str:
    """The edited masked text with each literal's text back in place of its placeholder."""
    if not masked.originals:
        return text
    seen: list[int] = []

    def original(match: re.Match[str]) -> str:
        number = int(match.group(1))
        seen.append(number)
        return masked.originals[number]

    result = PLACEHOLDER_PATTERN.sub(original, text)
    if sorted(seen) != list(range(len(masked.originals))):
        raise Unmasked("the edit lost or repeated a masked literal")
    return result


def _maskable(node: ast.AST, text: str, callees: Collection[str]) -> bool:
    if len(text) < MIN_MASKED or "task" in text or any(name in text for name in callees):
        return False
    if isinstance(node, ast.Tuple):  # only a bracketed tuple is an atom
        return text.startswith("(") and text.endswith(")")
    return True


def _protected(node: ast.AST, callees: Collection[str]) -> list[int]:
    """The children of a node the edit reads: a counted call's task name and options dict,
    a task dict's keys and options."""
    if isinstance(node, ast.Call) and final_name(node.func) in callees:
        protected = [id(node.args[0])] if node.args else []
        protected += [id(k.value) for k in node.keywords if k.arg in ("name", "options")]
        if len(node.args) > 3:
            protected.append(id(node.args[3]))
        return protected
    if isinstance(node, ast.Dict):
        protected = [id(k) for k in node.keys if k is not None]
        for key, value in zip(node.keys, node.values, strict=True):
            if isinstance(key, ast.Constant) and key.value == "options":
                protected.append(id(value))
        return protected
    return []


def _line_starts(lines: list[str]) -> list[int]:
    starts = [0]
    for line in lines:
        starts.append(starts[-1] + len(line))
    return starts


def _span(
    node: ast.AST, first_line: int, starts: list[int], lines: list[str]
) -> tuple[int, int] | None:
    """The node's (start, end) character offsets in the chunk."""
    end_line = getattr(node, "end_lineno", None)
    end_col = getattr(node, "end_col_offset", None)
    if end_line is None or end_col is None:
        return None
    start = _offset(node.lineno, node.col_offset, first_line, starts, lines)  # type: ignore[attr-defined]
    end = _offset(end_line, end_col, first_line, starts, lines)
    return None if start is None or end is None else (start, end)


def _offset(
    line: int, byte_col: int, first_line: int, starts: list[int], lines: list[str]
) -> int | None:
    index = line - first_line
    if not 0 <= index < len(lines):
        return None
    text = lines[index]
    col = byte_col if text.isascii() else len(text.encode()[:byte_col].decode("utf-8", "replace"))
    return starts[index] + col
