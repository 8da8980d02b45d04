"""`ignore_result=True` appended to a decorator call over several lines: the plain text edit lays
it out exactly as libcst's `append_keywords` does, so `results` needs no libcst for it."""

from __future__ import annotations

import ast
import itertools
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from textwrap import dedent

import pytest

from codemods.declare import KEYWORD, DeclarationEdit, _appended_keyword, edit_declarations
from codemods.declcst import edit_decorator

ARGUMENTS = (
    "bind=True",
    "queue='q'",
    "autoretry_for=(A, B,)",
    "retry_kwargs={'max_retries': 3,\n        'x': 1}",
    'name=f"{a}.b"',
    "*extra",
)
SEPARATORS = (",\n    ", ", ", ",  # why\n    ", ",\n\n    # a note\n    ", ",\n\t\t")
ENDINGS = ("", ",", ", ", ",  # last", "  # last")
CLOSINGS = ("\n", "", "\n  ", "\n\n", "\n    # end\n")


def layouts() -> Iterator[str]:
    """Decorator calls over several lines: the first argument on the bracket's line or the next,
    items separated on one line or several (with comments and blank lines), a trailing comma or
    not, the closing bracket on its own line or not."""
    for count in (1, 2):
        for chosen in itertools.combinations(ARGUMENTS, count):
            for first_on_next_line, separator, ending, closing in itertools.product(
                (True, False), SEPARATORS, ENDINGS, CLOSINGS
            ):
                if "#" in ending and "\n" not in closing:
                    continue  # the comment would swallow the bracket
                head = "app.task(\n    " if first_on_next_line else "app.task("
                text = head + separator.join(chosen) + ending + closing + ")"
                if "\n" in text:
                    yield text


def test_the_text_edit_lays_the_keyword_out_as_libcst_does() -> None:
    edit = DeclarationEdit(1, "f", KEYWORD)
    checked = 0
    for text in layouts():
        ast.parse(text)
        assert _appended_keyword(text) == edit_decorator(text, edit), text
        checked += 1
    assert checked > 3000


@pytest.mark.parametrize(
    "text",
    ["app.task(\n    a=1,\\\n    b=2,\n)", "app.task(\r\n    a=1,\r\n)", "app.task(\n)"],
    ids=["line-continuation", "crlf", "no-arguments"],
)
def test_layouts_the_text_edit_does_not_read_are_left_to_libcst(text: str) -> None:
    assert _appended_keyword(text) is None


def test_a_decorator_over_several_lines_is_edited_without_libcst(tmp_path: Path) -> None:
    source = dedent(
        """\
        @shared_task(
            bind=True,
            max_retries=5,  # the service is slow
        )
        def a(self):
            pass
        """
    )
    script = dedent(
        f"""\
        import ast, sys
        from codemods.declare import KEYWORD, DeclarationEdit, edit_declarations
        source = {source!r}
        new, problem = edit_declarations(source, ast.parse(source), [DeclarationEdit(1, "a", KEYWORD)])
        assert problem is None, problem
        print(new, end="")
        print("libcst" in sys.modules, file=sys.stderr)
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, cwd=tmp_path
    )
    assert done.stderr.strip() == "False"
    assert done.stdout == source.replace(
        "  # the service is slow\n", "  # the service is slow\n    ignore_result=True,\n"
    )
    assert edit_declarations(source, ast.parse(source), [DeclarationEdit(1, "a", KEYWORD)]) == (
        done.stdout,
        None,
    )
