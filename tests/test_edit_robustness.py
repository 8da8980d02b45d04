"""Edits that keep opt-out comments on their lines, layouts libcst alone cannot edit, dense
literals, and files where one statement cannot be edited.

The property test generates beat schedules and nested task calls in random layouts with
comments, opt-out comments among them, in every gap: every rewrite verifies, is idempotent,
only inserts text, and leaves each opt-out comment on the line of the call or entry it opts
out.
"""

from __future__ import annotations

import ast
import io
import tokenize
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from codemods import cstedit, masking
from codemods.calls import candidate_nodes, parse_ignore
from codemods.model import PARITY_OPTIONS, FileResult
from codemods.rewrite import rewrite_source, source_lines
from tests import tools
from tests.conftest import run_cli
from tests.test_properties import HEADER, INDEX, _Writer

WORKER = (
    "from celery import Celery\n"
    'app = Celery("proj")\n'
    '@app.task(name="reports.nightly", queue="reports", priority=5)\n'
    "def nightly(*a, **k): pass\n"
    '@app.task(name="t.b", queue="qb")\n'
    "def b(*a, **k): pass\n"
)
SMALL_INDEX = tools.make_index(WORKER)


def rewrite(source: str) -> FileResult:
    return rewrite_source(source, SMALL_INDEX, path="p.py")


def codes(result: FileResult) -> list[str]:
    return [d.code for d in result.diagnostics]


# --- opt-out comments stay on their lines --------------------------------------------------------

BEAT = """\
from proj.celery import app

app.conf.beat_schedule = {
    "nightly": {
        "task": "reports.nightly", "schedule": 3600.0},  # celery-codemod: ignore[queue]
}
"""


def test_a_beat_entry_closed_on_its_task_line_keeps_its_opt_out_comment() -> None:
    result = rewrite(BEAT)
    assert result.new_source == BEAT.replace(
        '"schedule": 3600.0}', '"schedule": 3600.0, "options": {"priority": 5}}'
    )
    assert rewrite(result.new_source).new_source is None


def test_a_call_closed_on_an_opted_out_line_keeps_the_comment_there() -> None:
    source = (
        "from celery import signature\n"
        'app.send_task("reports.nightly",\n'
        '    link=signature("t.b")  )  # celery-codemod: ignore\n'
    )
    result = rewrite(source)
    assert result.new_source == source.replace(
        'link=signature("t.b")  )', 'link=signature("t.b"), queue="reports", priority=5  )'
    )
    assert rewrite(result.new_source).new_source is None


def test_a_comment_that_opts_nothing_out_does_not_change_the_layout() -> None:
    source = 'app.send_task("reports.nightly",\n    args=[1])  # celery-codemod: ignore\n'
    result = rewrite(source)
    assert result.new_source == (
        'app.send_task("reports.nightly",\n    args=[1],\n    queue="reports",\n'
        "    priority=5)  # celery-codemod: ignore\n"
    )


def _project(tmp_path: Path) -> None:
    (tmp_path / "proj").mkdir()
    (tmp_path / "proj" / "__init__.py").write_text("")
    (tmp_path / "proj" / "celery.py").write_text(WORKER)


def test_a_second_write_changes_nothing(tmp_path: Path, in_dir: Callable[[Path], Path]) -> None:
    _project(tmp_path)
    in_dir(tmp_path)
    beat = tmp_path / "beat.py"
    beat.write_text(BEAT)
    assert run_cli("fix", "--write", "beat.py", "--workers", "proj").exit_code == 0
    first = beat.read_text()
    assert first != BEAT
    again = run_cli("fix", "--write", "beat.py", "--workers", "proj")
    assert again.exit_code == 0
    assert beat.read_text() == first
    assert '"queue"' not in first


# --- layouts libcst cannot edit alone ------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "edited"),
    [
        pytest.param(
            'app.send_task("t.b"); \\\n\nx = 1\n',
            'app.send_task("t.b", queue="qb"); \\\n\nx = 1\n',
            id="statement ending in a backslash",
        ),
        pytest.param(
            'app.send_task("t.b"); \\\nx = 1\n',
            'app.send_task("t.b", queue="qb"); \\\nx = 1\n',
            id="backslash joining the next statement",
        ),
        pytest.param(
            '\x0cdef f():\n    app.send_task("t.b")\n',
            '\x0cdef f():\n    app.send_task("t.b", queue="qb")\n',
            id="form feed before def",
        ),
        pytest.param(
            'import os\n\x0c\x0cdef f():\n    app.send_task("t.b")\n',
            'import os\n\x0c\x0cdef f():\n    app.send_task("t.b", queue="qb")\n',
            id="two form feeds before def",
        ),
        pytest.param(
            'app.send_task("t.b", args=[' + " ".join(['"a"'] * 5000) + "])\n",
            'app.send_task("t.b", args=[' + " ".join(['"a"'] * 5000) + '], queue="qb")\n',
            id="5,000 implicitly joined strings",
        ),
    ],
)
def test_valid_layouts_are_edited(source: str, edited: str) -> None:
    result = rewrite(source)
    assert codes(result) == []
    assert result.new_source == edited
    assert rewrite(edited).new_source is None


# A task name of 3,000 implicitly joined strings: libcst's parser recurses once per string.
UNEDITABLE = "app.send_task(" + '"" ' * 3000 + '"t.b")\n'


def test_a_statement_that_cannot_be_edited_leaves_the_others_edited() -> None:
    source = 'app.send_task("t.b")\n' + UNEDITABLE + 'app.send_task("reports.nightly")\n'
    result = rewrite(source)
    assert result.new_source == (
        'app.send_task("t.b", queue="qb")\n'
        + UNEDITABLE
        + 'app.send_task("reports.nightly", queue="reports", priority=5)\n'
    )
    assert [c.line for c in result.changes] == [1, 3]
    (unsafe,) = result.diagnostics
    assert (unsafe.code, unsafe.line) == ("unsafe-rewrite", 2)
    assert unsafe.message.startswith("celery-codemod cannot edit this statement's layout (")
    assert unsafe.message.endswith("it was left alone: add queue='qb' by hand")


def test_the_cli_writes_the_statements_it_can(
    tmp_path: Path, in_dir: Callable[[Path], Path]
) -> None:
    _project(tmp_path)
    in_dir(tmp_path)
    path = tmp_path / "calls.py"
    path.write_text('app.send_task("t.b")\n' + UNEDITABLE)
    result = run_cli("fix", "--write", "calls.py", "--workers", "proj", "--no-cache")
    assert result.exit_code == 1
    assert "calls.py:2: error unsafe-rewrite: celery-codemod cannot edit" in result.stderr
    assert path.read_text() == 'app.send_task("t.b", queue="qb")\n' + UNEDITABLE


# --- dense literals ------------------------------------------------------------------------------


def test_libcst_sees_the_call_without_its_large_literals(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[str] = []
    real = cstedit.edit_source

    def spy(source: str, *args: object) -> str:
        seen.append(source)
        return real(source, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(cstedit, "edit_source", spy)
    numbers = ", ".join(str(i) for i in range(900))
    source = (
        f'app.send_task("t.b", args=[{numbers}], kwargs={{"k": "{"x" * 5000}"}},\n'
        f"    countdown=10)\n"
    )
    result = rewrite(source)
    assert result.new_source == source.replace("countdown=10)", 'countdown=10,\n    queue="qb")')
    (masked,) = seen
    assert len(masked) < 200, masked
    assert masked.count("__celery_codemod_literal_") == 2


def test_a_literal_holding_a_counted_node_is_not_masked() -> None:
    """A dict keyed by an implicitly joined "task" is a beat entry, though its text does not
    say "task": masking the list around it would shift every ordinal after it."""
    pad = "x" * 60
    source = (
        f'app.send_task("t.b", args=[{{"ta" "sk": "t.b", "schedule": 1, "p": "{pad}"}}])\n'
        'app.send_task("reports.nightly")\n'
    )
    result = rewrite(source)
    assert codes(result) == []
    assert result.new_source == (
        f'app.send_task("t.b", args=[{{"ta" "sk": "t.b", "schedule": 1, "p": "{pad}", '
        '"options": {"queue": "qb"}}], queue="qb")\n'
        'app.send_task("reports.nightly", queue="reports", priority=5)\n'
    )


def test_unmask_refuses_a_lost_placeholder() -> None:
    masked = masking.Masked("f(__celery_codemod_literal_0__)", ("[1, 2]",))
    with pytest.raises(masking.Unmasked):
        masking.unmask("f(x)", masked)
    assert masking.unmask("f(__celery_codemod_literal_0__, q=1)", masked) == "f([1, 2], q=1)"


# --- property: beat schedules and nested calls with opt-out comments in every gap ---------------

TASK_NAMES = ('"proj.tasks.add"', "'mail.send'", '"proj.tasks.keep"', "ADD", '"proj.tasks.nope"')
OPT_OUTS = (
    "# celery-codemod: ignore",
    "# celery-codemod: ignore[queue]",
    "# celery-codemod: ignore[priority, serializer]",
    "# note",
)


@st.composite
def beat_modules(draw: st.DrawFn) -> str:
    """A module with beat schedules (entries closed anywhere, options dicts or not) and task
    calls (their `link=` may be another task call), comments in every gap."""
    writer = _Writer(draw)
    text = HEADER
    for _ in range(draw(st.integers(1, 3))):
        if draw(st.booleans()):
            entries = []
            for number in range(draw(st.integers(1, 3))):
                items = [
                    '"task"' + writer.gap() + ":" + writer.gap() + writer.choice(TASK_NAMES),
                    '"schedule"' + writer.gap() + ":" + writer.gap() + "10.0",
                ]
                if draw(st.booleans()):
                    options = writer.sequence(
                        "{", ['"priority": 3'] if draw(st.booleans()) else [], "}"
                    )
                    items.append('"options"' + writer.gap() + ":" + writer.gap() + options)
                if draw(st.booleans()):
                    items.append('"args"' + writer.gap() + ":" + writer.gap() + "[1, 2]")
                items = draw(st.permutations(items))
                if draw(st.booleans()):
                    entry = writer.sequence("{", items, "}")
                else:  # one item per line, closed on the last item's line
                    entry = "{\n        " + ",\n        ".join(items) + "}"
                entries.append(f'"e{number}"' + writer.gap() + ":" + writer.gap() + entry)
            separators = [
                ",\n    " if draw(st.booleans()) else ",  " + writer.choice(OPT_OUTS) + "\n    "
                for _ in entries
            ]
            body = "".join(e + separator for e, separator in zip(entries, separators, strict=True))
            text += "app.conf.beat_schedule = {\n    " + body + "}"
        else:  # calls whose keywords may hold another task call (link=...)
            text += writer.call(0, inside=False)
        if draw(st.integers(0, 2)) == 0:
            text += "  " + writer.choice(OPT_OUTS)
        text += "\n"
    return text


def opt_out_lines(tree: ast.AST, callees: set[str]) -> list[int]:
    """The line each counted call or entry reads its opt-out comment from, in source order."""
    nodes = candidate_nodes(tree, callees)
    lines = [node.lineno for node in nodes["call"]]
    for node in nodes["dict"]:
        assert isinstance(node, ast.Dict)
        lines.append(
            next(k.lineno for k in node.keys if isinstance(k, ast.Constant) and k.value == "task")
        )
    return lines


def comments(source: str) -> list[str]:
    tokens = tokenize.generate_tokens(io.StringIO(source, newline=None).readline)
    return [token.string for token in tokens if token.type == tokenize.COMMENT]


def is_subsequence(text: str, container: str) -> bool:
    rest = iter(container)
    return all(char in rest for char in text)


def check_opt_outs(source: str) -> None:
    before = ast.parse(source)
    result = rewrite_source(source, INDEX, path="producer.py")
    assert "unsafe-rewrite" not in codes(result), result.diagnostics
    if result.new_source is None:
        return
    output = result.new_source
    assert is_subsequence(source, output), "the rewrite may only insert text"
    assert comments(output) == comments(source)
    callees = {"send_task", "partial", "signature", "subtask", "Signature", "send"}
    old_lines, new_lines = source_lines(source), source_lines(output)
    old_opt_outs = [parse_ignore(old_lines[n - 1]) for n in opt_out_lines(before, callees)]
    new_opt_outs = [
        parse_ignore(new_lines[n - 1]) for n in opt_out_lines(ast.parse(output), callees)
    ]
    assert new_opt_outs == old_opt_outs, "an opt-out comment moved to another call's line"
    for change in result.changes:
        ignored = parse_ignore(old_lines[change.line - 1])
        if ignored is not None:
            everything, names = ignored
            assert not everything and not names & set(change.added), change
        assert set(change.added) <= set(PARITY_OPTIONS)
    again = rewrite_source(output, INDEX, path="producer.py")
    assert again.new_source is None, "a second run changes nothing"


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(beat_modules())
def test_opt_out_comments_stay_and_rewrites_are_idempotent(source: str) -> None:
    check_opt_outs(source)


@pytest.mark.slow_property
@settings(max_examples=2500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(beat_modules())
def test_opt_out_comments_stay_and_rewrites_are_idempotent_thorough(source: str) -> None:
    check_opt_outs(source)
