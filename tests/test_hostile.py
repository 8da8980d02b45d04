"""Hostile and odd inputs: each gets a clear message naming the file and the cause, the other files
are still processed, nothing unverified is written, and every byte outside the insertion is kept."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from codemods import cstedit
from codemods.rewrite import rewrite_source
from tests import tools
from tests.conftest import run_cli

WORKER = "from celery import Celery\napp = Celery('w')\n@app.task(queue='q')\ndef t(x=0): pass\n"
CALL = "app.send_task('w.t')"
FIXED = "app.send_task('w.t', queue='q')"
INDEX = tools.make_index(WORKER, module="w")


@pytest.fixture
def tree(tmp_path: Path, in_dir) -> Path:
    (tmp_path / "w.py").write_text(WORKER)
    (tmp_path / "good.py").write_text(CALL + "\n")
    return in_dir(tmp_path)


def check_run(tree: Path, bad_name: str, message: str, code: str = "parse-error") -> None:
    """The bad file is reported with its cause; the good file is still rewritten."""
    result = run_cli("fix", "--write")
    assert (
        f"{bad_name}:" in result.stderr
        and f"{code}: " in result.stderr
        and message in result.stderr
    ), result.stderr
    assert result.exit_code == (1 if code in ("parse-error", "read-error", "unsafe-rewrite") else 0)
    assert (tree / "good.py").read_text() == FIXED + "\n"


# -- the verification fires ----------------------------------------------------------------------


def test_a_broken_transformer_is_caught_and_nothing_is_written(
    tree: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = cstedit.append_keywords

    def broken(call, added, quote='"', keep_line=False):  # also changes the task name
        edited = real(call, added, quote, keep_line)
        first = edited.args[0].with_changes(value=cstedit.cst.SimpleString("'w.other'"))
        return edited.with_changes(args=[first, *edited.args[1:]])

    monkeypatch.setattr(cstedit, "append_keywords", broken)
    result = rewrite_source(CALL + "\n", INDEX, path="p.py")
    assert result.new_source is None
    assert [(d.code, d.severity.value) for d in result.diagnostics] == [("unsafe-rewrite", "error")]
    assert "differs from the input outside the inserted options" in result.diagnostics[0].message

    cli = run_cli("fix", "--write")
    assert cli.exit_code == 1
    assert "good.py:1: error unsafe-rewrite: the rewrite did not verify" in cli.stderr
    assert (tree / "good.py").read_text() == CALL + "\n"


def test_a_transformer_that_inserts_the_wrong_value_is_caught(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real = cstedit.append_keywords
    monkeypatch.setattr(
        cstedit,
        "append_keywords",
        lambda call, added, quote='"', keep_line=False: real(
            call, {"queue": "other"}, quote, keep_line
        ),
    )
    result = rewrite_source(CALL + "\n", INDEX, path="p.py")
    assert result.new_source is None
    assert "queue has the wrong value" in result.diagnostics[0].message


# -- hostile inputs ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "message"),
    [
        pytest.param(
            b"def f(:\n    " + CALL.encode() + b"\n",
            "cannot parse: invalid syntax",
            id="syntax error",
        ),
        pytest.param(
            b'print "hello"\n' + CALL.encode() + b"\n",
            "cannot parse: Missing parentheses",
            id="Python 2",
        ),
        pytest.param(
            CALL.encode() + b"\n\x00\n",
            "cannot parse: source code string cannot contain null bytes",
            id="NUL byte",
        ),
        pytest.param(
            b"# caf\xe9\n" + CALL.encode() + b"\n",
            "cannot decode: not UTF-8 ('utf-8' codec can't decode byte 0xe9 in position 5: "
            "invalid continuation byte) and no coding declaration",
            id="latin-1 without cookie",
        ),
        pytest.param(
            b"# -*- coding: klingon -*-\n" + CALL.encode() + b"\n",
            "cannot decode: unknown encoding: klingon",
            id="unknown cookie",
        ),
        pytest.param(
            b"x = " + b"[" * 300 + b"]" * 300 + b"\n" + CALL.encode() + b"\n",
            "cannot parse: too many nested parentheses",
            id="deeply nested",
        ),
    ],
)
def test_unparsable_files(tree: Path, content: bytes, message: str) -> None:
    (tree / "bad.py").write_bytes(content)
    check_run(tree, "bad.py", message)
    assert (tree / "bad.py").read_bytes() == content


@pytest.mark.parametrize(
    ("depth", "message"),
    [(20_000, "too deeply nested to parse"), (2_000, "too deeply nested to analyse")],
)
def test_deep_nesting_exhausting_recursion(tree: Path, depth: int, message: str) -> None:
    # Unary operators nest without parentheses, past the parser's or the analysis's recursion.
    (tree / "deep.py").write_text(f"x = {'-' * depth}1\n{CALL}\n")
    check_run(tree, "deep.py", message)


def test_empty_file_and_a_directory_named_like_a_module(tree: Path) -> None:
    (tree / "empty.py").write_bytes(b"")
    (tree / "odd.py").mkdir()
    (tree / "odd.py" / "inner.py").write_text(CALL + "\n")
    result = run_cli("fix", "--write")
    assert result.exit_code == 0, result.stderr
    assert (tree / "odd.py" / "inner.py").read_text() == FIXED + "\n"
    assert (tree / "empty.py").read_bytes() == b""


def test_unreadable_file(tree: Path) -> None:
    secret = tree / "secret.py"
    secret.write_text(CALL + "\n")
    secret.chmod(0)
    command = [sys.executable, "-m", "codemods", "fix", "--write"]
    if os.geteuid() == 0:  # root reads anything: run without the capabilities that allow it
        setpriv = shutil.which("setpriv")
        assert setpriv, "setpriv (util-linux) is needed to drop root's file-reading capabilities"
        command = [setpriv, "--bounding-set=-dac_override,-dac_read_search", *command]
    result = subprocess.run(command, cwd=tree, capture_output=True, text=True, check=False)
    assert "secret.py:1: error read-error: cannot read: Permission denied" in result.stderr, (
        result.stderr
    )
    assert result.returncode == 1
    assert (tree / "good.py").read_text() == FIXED + "\n"


def test_symlinks_are_never_written_through_or_over(
    tree: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    outside = tmp_path_factory.mktemp("outside") / "target.py"
    outside.write_text(CALL + "\n")
    (tree / "link_out.py").symlink_to(outside)
    (tree / "loop_a.py").symlink_to(tree / "loop_b.py")
    (tree / "loop_b.py").symlink_to(tree / "loop_a.py")
    (tree / "pkg").mkdir()
    (tree / "pkg" / "self").symlink_to(tree / "pkg")
    result = run_cli("fix", "--write")
    assert result.exit_code == 0, result.stderr
    assert (
        "link_out.py:1: info symlink: skipped: a symbolic link is never read or written"
        in result.stderr
    )
    assert "loop_a.py:1: info symlink" in result.stderr
    assert outside.read_text() == CALL + "\n"
    assert (tree / "link_out.py").is_symlink()
    assert (tree / "good.py").read_text() == FIXED + "\n"


def test_file_over_the_size_limit_is_left_alone(tree: Path) -> None:
    (tree / "big.py").write_text(CALL + "\n" + "x = 1\n" * 2000)
    result = run_cli("fix", "--write", "--max-file-size", "10KB")
    assert (
        "big.py:1: warning file-too-large: skipped: 12,021 bytes is over the limit of 10,000"
        in result.stderr
    )
    assert (tree / "big.py").read_text().startswith(CALL + "\n")
    assert (tree / "good.py").read_text() == FIXED + "\n"


def test_ten_megabyte_file_is_rewritten(tree: Path) -> None:
    block = "def f{i}(a, b):\n    return [a, b, {{'k': a}}][0] + b  # {i}\n\n"
    body = "".join(block.format(i=i) for i in range(10_000_000 // len(block)))
    (tree / "huge.py").write_text(body + CALL + "\n")
    result = run_cli("fix", "--write")
    assert result.exit_code == 0, result.stderr
    assert (tree / "huge.py").read_text() == body + FIXED + "\n"


# -- preservation --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("original", "expected"),
    [
        pytest.param(
            "# -*- coding: latin-1 -*-\n# café\napp.send_task('w.t')\n".encode("latin-1"),
            "# -*- coding: latin-1 -*-\n# café\napp.send_task('w.t', queue='q')\n".encode(
                "latin-1"
            ),
            id="latin-1 cookie",
        ),
        pytest.param(
            b"\xef\xbb\xbf# \xc3\xa9\napp.send_task('w.t')\n",
            b"\xef\xbb\xbf# \xc3\xa9\napp.send_task('w.t', queue='q')\n",
            id="UTF-8 BOM",
        ),
        pytest.param(
            b"x = 1\r\napp.send_task(\r\n    'w.t',\r\n)\r\n",
            b"x = 1\r\napp.send_task(\r\n    'w.t',\r\n    queue='q',\r\n)\r\n",
            id="CRLF",
        ),
        pytest.param(
            b"x = 1\r\ny = 2\napp.send_task('w.t')\rz = 3\n",
            b"x = 1\r\ny = 2\napp.send_task('w.t', queue='q')\rz = 3\n",
            id="mixed newlines",
        ),
        pytest.param(
            b"app.send_task('w.t')", b"app.send_task('w.t', queue='q')", id="no final newline"
        ),
        pytest.param(
            b"if x:\n\tapp.send_task(\n\t\t'w.t',\n\t)\n",
            b"if x:\n\tapp.send_task(\n\t\t'w.t',\n\t\tqueue='q',\n\t)\n",
            id="tabs",
        ),
        pytest.param(
            b"x = '" + b"a" * 200_000 + b"'; app.send_task('w.t')\n",
            b"x = '" + b"a" * 200_000 + b"'; app.send_task('w.t', queue='q')\n",
            id="very long line",
        ),
    ],
)
def test_bytes_outside_the_insertion_are_kept(tree: Path, original: bytes, expected: bytes) -> None:
    target = tree / "kept.py"
    target.write_bytes(original)
    target.chmod(0o640)
    result = run_cli("fix", "--write")
    assert result.exit_code == 0, result.stderr
    assert target.read_bytes() == expected
    assert target.stat().st_mode & 0o777 == 0o640
    again = run_cli("fix", "--check")
    assert again.exit_code == 0, "idempotent"


def test_tree_without_write_permission_reports_and_continues(tree: Path) -> None:
    shutil.copy(tree / "good.py", tree / "other.py")
    result = run_cli("fix", "--check")
    assert result.exit_code == 1
    assert "would rewrite good.py" in result.stderr and "would rewrite other.py" in result.stderr
