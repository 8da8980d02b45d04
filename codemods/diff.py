"""Unified diffs that `git apply` takes: `a/` and `b/` paths, line endings kept, and the
`\\ No newline at end of file` marker. A file's diff is in the file's own bytes, whatever its
encoding, as git compares bytes."""

from __future__ import annotations

import difflib

from codemods.model import FileResult

NO_NEWLINE = "\\ No newline at end of file\n"


def _lines(text: str) -> list[str]:
    # str.splitlines would also split on \x0c and friends, which git does not.
    lines = text.split("\n")
    result = [line + "\n" for line in lines[:-1]]
    if lines[-1]:
        result.append(lines[-1])
    return result


def unified_diff(before: str, after: str, rel_path: str) -> str:
    """The diff of one text, or "" when nothing changed."""
    if before == after:
        return ""
    out = []
    for line in difflib.unified_diff(
        _lines(before), _lines(after), fromfile=f"a/{rel_path}", tofile=f"b/{rel_path}"
    ):
        if line.endswith("\n"):
            out.append(line)
        else:
            out.append(line + "\n" + NO_NEWLINE)
    return "".join(out)


def _byte_lines(data: bytes) -> list[bytes]:
    lines = data.split(b"\n")
    result = [line + b"\n" for line in lines[:-1]]
    if lines[-1]:
        result.append(lines[-1])
    return result


def path_bytes(path: str) -> bytes:
    """A path as the file system spells it (undecodable bytes were kept as surrogates)."""
    return path.encode("utf-8", "surrogateescape")


def unified_diff_bytes(before: bytes, after: bytes, rel_path: str) -> bytes:
    """The diff of one file's bytes, or b"" when nothing changed."""
    if before == after:
        return b""
    path = path_bytes(rel_path)
    out = []
    for line in difflib.diff_bytes(
        difflib.unified_diff,
        _byte_lines(before),
        _byte_lines(after),
        fromfile=b"a/" + path,
        tofile=b"b/" + path,
    ):
        if line.endswith(b"\n"):
            out.append(line)
        else:
            out.append(line + b"\n" + NO_NEWLINE.encode())
    return b"".join(out)


def file_diff(result: FileResult, rel_path: str) -> bytes:
    """The diff of a changed file in its own bytes (UTF-8 when only its text is known)."""
    assert result.new_source is not None
    if result.source_bytes is not None and result.new_bytes is not None:
        return unified_diff_bytes(result.source_bytes, result.new_bytes, rel_path)
    return unified_diff(result.source, result.new_source, rel_path).encode(
        "utf-8", "surrogateescape"
    )
