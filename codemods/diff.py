"""Unified diffs that `git apply` takes: `a/` and `b/` paths, line endings kept, and the
`\\ No newline at end of file` marker."""

from __future__ import annotations

import difflib

NO_NEWLINE = "\\ No newline at end of file\n"


def _lines(text: str) -> list[str]:
    # str.splitlines would also split on \x0c and friends, which git does not.
    lines = text.split("\n")
    result = [line + "\n" for line in lines[:-1]]
    if lines[-1]:
        result.append(lines[-1])
    return result


def unified_diff(before: str, after: str, rel_path: str) -> str:
    """The diff of one file, or "" when nothing changed."""
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
