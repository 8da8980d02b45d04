"""Files in legacy encodings: the rewrite changes only the inserted bytes, and diffs and patches
are in the file's own bytes, so `git apply` and `git am` take them.

The property test writes producers in encodings where decoding and encoding again is not the
identity (cp932's NEC and IBM duplicates, euc_jp's JIS X 0212 tilde, johab's compatibility
jamo, iso2022_jp's redundant shifts, hz's empty shifts, utf-7's encoded ASCII), with such bytes
in comments and strings around and inside the calls, and opt-out comments in the gaps.
"""

from __future__ import annotations

import ast
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from codemods.rewrite import rewrite_source
from codemods.splice import SpliceError, insertions, splice
from tests import tools
from tests.conftest import git, init_repo, run_cli

WORKER = (
    "from celery import Celery\n"
    'app = Celery("proj")\n'
    '@app.task(name="t.add", queue="fast", priority=3)\n'
    "def add(*a, **k): pass\n"
    '@app.task(name="t.mail", serializer="pickle", expires=60)\n'
    "def mail(*a, **k): pass\n"
)
INDEX = tools.make_index(WORKER)


def _cp932_duplicates() -> list[bytes]:
    """Two-byte cp932 characters that encode back to other bytes (NEC / IBM duplicates)."""
    found = []
    for lead in (0x87, 0xED, 0xEE, 0xFA, 0xFB):
        for trail in range(0x40, 0xFD):
            data = bytes((lead, trail))
            try:
                if data.decode("cp932").encode("cp932") != data:
                    found.append(data)
            except UnicodeError:
                continue
    return found


def _johab_duplicates() -> list[bytes]:
    found = []
    for lead in range(0x84, 0x8C):
        for trail in range(0x41, 0x7F):
            data = bytes((lead, trail))
            try:
                text = data.decode("johab")
                if len(text) == 1 and text.encode("johab") != data:
                    found.append(data)
            except UnicodeError:
                continue
    return found


# Per encoding: byte sequences that decode to text which does not encode back to them, and
# ordinary non-ASCII text in that encoding.
SPECIAL: dict[str, list[bytes]] = {
    "cp932": [*_cp932_duplicates()[:40], "日本".encode("cp932")],
    "euc_jp": [b"\x8f\xa2\xb7", "日本".encode("euc_jp")],
    "johab": [*_johab_duplicates(), "한국".encode("johab")],
    "iso2022_jp": [b"\x1b(Jabc\x1b(B", b"\x1b$B\x1b(B", "日本".encode("iso2022_jp")],
    "hz": [b"~{~}", "中文".encode("hz")],
    "utf-7": [b"+AGE-", b"+AHg-", "日本".encode("utf-7")],
    "latin-1": ["café".encode("latin-1")],
}


def test_the_special_sequences_do_not_round_trip() -> None:
    for encoding, sequences in SPECIAL.items():
        if encoding == "latin-1":
            continue
        changed = [s for s in sequences if s.decode(encoding).encode(encoding) != s]
        assert changed, encoding


# --- the splice ---------------------------------------------------------------------------------


def test_insertions_of_a_keyword_and_a_nested_dict() -> None:
    assert insertions("f(a)\n", 'f(a, queue="q")\n') == [(3, ', queue="q"')]
    old, new = '{"t": 1}', '{"t": 1, "options": {"p": 5}}'
    pieces = insertions(old, new)
    rebuilt, previous = "", 0
    for offset, text in pieces:
        rebuilt += old[previous:offset] + text
        previous = offset
    assert rebuilt + old[previous:] == new


def test_an_edit_that_removes_text_is_refused() -> None:
    with pytest.raises(SpliceError, match="not an insertion"):
        splice(b"f(a, b)\n", "utf-8", "f(a, b)\n", "f(a, q=1)\n")


def test_an_insertion_that_cannot_be_encoded_is_refused() -> None:
    with pytest.raises(SpliceError, match="cannot be written as ascii"):
        splice(b"f(a)\n", "ascii", "f(a)\n", 'f(a, q="\u00e9")\n')


def test_utf8_with_a_bom_keeps_it() -> None:
    data = "\ufefff(a)  # é\n".encode()
    text = data.decode("utf-8-sig")
    assert splice(data, "utf-8-sig", text, text.replace("a)", "a, q=1)")) == data.replace(
        b"a)", b"a, q=1)"
    )


@pytest.mark.parametrize("encoding", sorted(SPECIAL))
def test_splice_keeps_every_special_sequence(encoding: str) -> None:
    for special in SPECIAL[encoding]:
        data = (
            b"# " + special + b"\n"
            b'app.send_task("t.add", args=["' + special + b'"])  # ' + special + b"\n"
        )
        text = data.decode(encoding)
        new = text.replace('"])', '"], queue="fast")')
        assert splice(data, encoding, text, new) == data.replace(b'"])', b'"], queue="fast")')


# --- property: generated producers in legacy encodings ------------------------------------------

CALLS = (
    'app.send_task("t.add"{gap}, args=["{s}"]{gap})',
    "app.send_task({gap}'t.mail',{gap}kwargs={{'k': '{s}'}}{gap})",
    'app.signature("t.add"{gap}, options={{"x": "{s}"}}{gap})',
    'app.send_task("t.add", link=app.signature("t.mail"){gap})',
)
OPT_OUTS = (
    "# celery-codemod: ignore",
    "# celery-codemod: ignore[queue]",
    "# celery-codemod: ignore[priority, expires]",
)


@st.composite
def legacy_producers(draw: st.DrawFn) -> tuple[str, bytes]:
    """(encoding, file bytes): calls with special bytes in strings, comments and gaps."""
    encoding = draw(st.sampled_from(sorted(SPECIAL)))
    special = st.sampled_from(SPECIAL[encoding])

    def comment() -> bytes:
        if draw(st.booleans()):
            return draw(st.sampled_from(OPT_OUTS)).encode() + b" " + draw(special)
        return b"# " + draw(special)

    def gap() -> bytes:
        kind = draw(st.integers(0, 3))
        if kind == 0:
            return b""
        if kind == 1:
            return b"  " + comment() + b"\n    "
        if kind == 2:
            return b"\n    "
        return b" "

    lines = [f"# -*- coding: {encoding} -*-".encode(), b"# " + draw(special)]
    for _ in range(draw(st.integers(1, 4))):
        template = draw(st.sampled_from(CALLS)).encode()
        parts = template.split(b"{gap}")
        call = parts[0]
        for part in parts[1:]:
            call += gap() + part
        call = call.replace(b"{s}", draw(special)).replace(b"{{", b"{").replace(b"}}", b"}")
        if draw(st.booleans()):
            call += b"  " + comment()
        lines.append(call)
        if draw(st.booleans()):
            lines.append(b"x = '" + draw(special) + b"'  " + comment())
    return encoding, b"\n".join(lines) + b"\n"


def is_byte_subsequence(small: bytes, big: bytes) -> bool:
    rest = iter(big)
    return all(byte in rest for byte in small)


def check_legacy(encoding: str, data: bytes) -> None:
    text = data.decode(encoding)
    ast.parse(data)  # Python reads it through its coding cookie
    result = rewrite_source(text, INDEX, path="producer.py")
    assert "unsafe-rewrite" not in {d.code for d in result.diagnostics}
    assert "parse-error" not in {d.code for d in result.diagnostics}
    if result.new_source is None:
        return
    new_data = splice(data, encoding, text, result.new_source)
    assert new_data.decode(encoding) == result.new_source
    # Only bytes were added (the inserted options are ASCII: one byte per character), and the
    # original bytes are all there, in order.
    assert len(new_data) - len(data) == len(result.new_source) - len(text)
    assert is_byte_subsequence(data, new_data)
    ast.parse(new_data)
    again = rewrite_source(result.new_source, INDEX, path="producer.py")
    assert again.new_source is None, "a second run changes nothing"


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(legacy_producers())
def test_legacy_encodings_change_only_the_inserted_bytes(producer: tuple[str, bytes]) -> None:
    check_legacy(*producer)


@pytest.mark.slow_property
@settings(max_examples=2000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(legacy_producers())
def test_legacy_encodings_change_only_the_inserted_bytes_thorough(
    producer: tuple[str, bytes],
) -> None:
    check_legacy(*producer)


# --- the CLI: --write, the printed diff and --patches with real git -----------------------------


@pytest.fixture
def project(tmp_path: Path, in_dir: Callable[[Path], Path]) -> Path:
    work = tmp_path / "work"
    (work / "proj").mkdir(parents=True)
    (work / "proj" / "__init__.py").write_text("")
    (work / "proj" / "celery.py").write_text(WORKER)
    in_dir(work)
    return work


def _producer(encoding: str, special: bytes) -> bytes:
    return (
        f"# -*- coding: {encoding} -*-\n".encode()
        + b"# approx "
        + special
        + b" 100\nfrom proj.celery import app\n\n\n\n\n"
        + b'app.send_task("t.add")  # '
        + special
        + b"\n"
    )


@pytest.mark.parametrize(
    ("encoding", "special"),
    [
        ("cp932", b"\x87\x90"),
        ("euc_jp", b"\x8f\xa2\xb7"),
        ("iso2022_jp", b"\x1b(Jabc\x1b(B"),
        ("johab", b"\x84\x41"),
        ("hz", b"~{~}"),
        ("utf-7", b"+AGE-"),
    ],
)
def test_write_changes_only_the_call_line(project: Path, encoding: str, special: bytes) -> None:
    path = project / "jp.py"
    path.write_bytes(_producer(encoding, special))
    init_repo(project)
    result = run_cli("fix", "--write", "jp.py", "--workers", "proj")
    assert result.exit_code == 0, result.stderr
    assert git(project, "diff", "--numstat", "jp.py").split("\t")[:2] == ["1", "1"]
    assert path.read_bytes() == _producer(encoding, special).replace(
        b'"t.add")', b'"t.add", queue="fast", priority=3)'
    )


def _latin1(project: Path) -> Path:
    path = project / "legacy.py"
    path.write_bytes(
        b"# -*- coding: latin-1 -*-\nfrom proj.celery import app\n# caf\xe9\n"
        b'app.send_task("t.add")\n'
    )
    init_repo(project)
    return path


def test_the_printed_diff_of_a_latin1_file_applies(project: Path, tmp_path: Path) -> None:
    path = _latin1(project)
    diff = run_cli("fix", "legacy.py", "--workers", "proj").stdout_bytes
    assert b"# caf\xe9\n" in diff
    patch = tmp_path / "fix.diff"
    patch.write_bytes(diff)
    git(project, "apply", "--check", str(patch))
    git(project, "apply", str(patch))
    assert path.read_bytes().endswith(b'app.send_task("t.add", queue="fast", priority=3)\n')


def test_the_patch_mail_of_a_latin1_file_applies_with_git_am(project: Path, tmp_path: Path) -> None:
    path = _latin1(project)
    before = path.read_bytes()
    result = run_cli("fix", "legacy.py", "--workers", "proj", "--patches", str(tmp_path / "p"))
    assert result.exit_code == 0, result.stderr
    (mail,) = sorted((tmp_path / "p").iterdir())
    assert b"# caf\xe9\n" in mail.read_bytes()
    subprocess.run(
        ["git", "-c", "user.name=T", "-c", "user.email=t@e", "am", str(mail)],
        cwd=project,
        check=True,
        capture_output=True,
    )
    assert path.read_bytes() == before.replace(b'"t.add")', b'"t.add", queue="fast", priority=3)')


def test_a_value_the_encoding_cannot_write_is_unsafe_and_nothing_is_written(
    project: Path,
) -> None:
    (project / "proj" / "celery.py").write_text(
        WORKER + '@app.task(name="t.cafe", queue="caf\u00e9")\ndef cafe(): pass\n'
    )
    path = project / "narrow.py"
    path.write_bytes(b'# -*- coding: ascii -*-\napp.send_task("t.cafe")\n')
    result = run_cli("fix", "--write", "narrow.py", "--workers", "proj", "--no-cache")
    assert result.exit_code == 1
    assert "unsafe-rewrite" in result.stderr and "cannot be written as ascii" in result.stderr
    assert path.read_bytes() == b'# -*- coding: ascii -*-\napp.send_task("t.cafe")\n'
