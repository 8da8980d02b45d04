"""declare.same_tree agrees with comparing `ast.dump`s (fields, not positions)."""

from __future__ import annotations

import ast
import itertools
from pathlib import Path

import pytest

from codemods.declare import same_tree

SOURCES = sorted((Path(__file__).parent.parent / "codemods").glob("*.py"))


@pytest.mark.parametrize("path", SOURCES[:12], ids=lambda p: p.name)
def test_agrees_with_dump_on_every_pair_of_statements(path: Path) -> None:
    text = path.read_text()
    statements = ast.parse(text).body[:40]
    again = ast.parse("\n\n" + text).body[:40]  # the same, on other lines
    for one, other in zip(statements, again, strict=True):
        assert same_tree(one, other)
    for one, other in itertools.combinations(statements, 2):
        assert same_tree(one, other) == (ast.dump(one) == ast.dump(other))


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("x = 1", "x = 1.0"),
        ("x = 1", "x = True"),
        ("x = 'a'", "x = b'a'"),
        ("f(a, b)", "f(b, a)"),
        ("f(a)", "f(a, )\ng"),
        ("@d\ndef f(): pass", "@d()\ndef f(): pass"),
        ("def f(x=None): pass", "def f(x): pass"),
        ("x: int = 1", "x: int"),
    ],
)
def test_tells_apart_what_dump_tells_apart(one: str, other: str) -> None:
    first, second = ast.parse(one), ast.parse(other)
    assert ast.dump(first) != ast.dump(second)
    assert not same_tree(first, second)


def test_positions_and_layout_do_not_count() -> None:
    one = ast.parse("@app.task(bind=True)\ndef f(self):\n    return 1\n")
    other = ast.parse("\n@app.task(\n    bind=True,\n)\ndef f(self):  # note\n    return (1)\n")
    assert same_tree(one, other)
