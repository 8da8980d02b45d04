"""Reports for CI systems: GitHub Actions workflow commands and SARIF 2.1.0.

Pure functions: a `Report` in, text or a JSON-ready dict out. Paths are the report's own (relative
to the directory the tool ran in, `/` separators), which is what both formats expect when the tool
runs at the repository root.

A pending change (a call that lacks options its task declares) is reported at level `error` in
both formats, as `missing-options`: it is what makes `fix --check` fail.
"""

from __future__ import annotations

import json
import os
import re
from bisect import bisect_right
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from difflib import SequenceMatcher
from typing import Any
from urllib.parse import quote

from codemods import __version__
from codemods.model import Change, FileResult, OptionValue, Severity
from codemods.report import Report

TOOL_NAME = "celery-codemod"
MISSING_OPTIONS = "missing-options"
SARIF_VERSION = "2.1.0"
SARIF_SCHEMA = (
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
)
# Where relative artifact URIs start: the directory the tool ran in (the checkout's root in CI).
SRCROOT = "%SRCROOT%"

GITHUB_LEVELS = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "notice"}
SARIF_LEVELS = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}

# One line per rule for SARIF's `shortDescription`; a code missing here gets a generic one.
RULE_DESCRIPTIONS: Mapping[str, str] = {
    MISSING_OPTIONS: "A send_task call lacks options its task declares.",
    "unknown-task": "No indexed task has this name.",
    "dynamic-name": "The task name cannot be resolved statically.",
    "splat-options": "The call passes **kwargs or *args; adding a keyword could collide.",
    "explicit-override": "The call sets an option to another value than the declaration.",
    "non-literal-option": "The declaration's option value is not a literal that can be copied.",
    "duplicate-task": "Two declarations share a task name with different options.",
    "argument-mismatch": "The call's args/kwargs do not fit the task's signature.",
    "parse-error": "A file could not be decoded or parsed.",
    "unknown-task-option": "A declaration passes a keyword Celery does not know.",
    "result-ignored": "The call reads the result of a task that ignores results.",
    "routed-by-config": "A literal task_routes already sends the task to its queue.",
    "unsafe-rewrite": "The rewrite did not verify; the file was left alone.",
    "unresolved-app": "A task decorator's app cannot be proved a Celery app.",
    "unresolved-decorator": "A project decorator applies a task decorator in an unfollowed way.",
    "test-file": "Task calls in a test file are left alone.",
    "custom-task-names": "The app names tasks itself (gen_task_name): the name cannot be known.",
    "not-celery-send-task": "A project's own send_task method, not Celery's: left alone.",
    "incomplete-index": "The run could check little: most tasks or calls could not be matched.",
    "read-error": "A file could not be read.",
    "write-error": "A file could not be written.",
    "unread-result": "Nobody reads the task's result: it can declare ignore_result=True.",
    "ignored-but-read": "A result is read, but its task ignores results.",
    "option-typo": "A declaration keyword Celery ignores; the option it probably means.",
    "ignore-result-not-added": "Nobody reads the task's result; its declaration is edited by hand.",
}

# Equal lines between two changed blocks that are still diffed as one block.
MERGE_GAP = 3
# Changed blocks larger than this (old plus new characters) skip the character diff.
CHAR_DIFF_LIMIT = 4000

_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+\Z")


# --- shared wording ------------------------------------------------------------------------------


def _option_list(added: Mapping[str, OptionValue]) -> str:
    return ", ".join(f"{name}={value!r}" for name, value in added.items())


def change_message(change: Change) -> str:
    """`task 'proj.add' declares ignore_result=True, queue='fast'; this call does not pass them`."""
    return (
        f"task {change.task!r} declares {_option_list(change.added)}; "
        "this call does not pass them (celery-codemod fix --write adds them)"
    )


def _fix_description(result: FileResult) -> str:
    calls = len(result.changes)
    return (
        f"Add the options their tasks declare to {calls} call{'' if calls == 1 else 's'} "
        f"in {result.path}"
    )


@dataclass(frozen=True)
class ChangeRule:
    """How pending changes are reported: their rule, message, and the fix's description."""

    code: str
    describe: Callable[[Change], str]
    fix_text: Callable[[FileResult], str]


FIX_RULE = ChangeRule(MISSING_OPTIONS, change_message, _fix_description)


def _changes(report: Report) -> Iterable[Change]:
    for result in report.changed:
        yield from result.changes


# --- GitHub Actions ------------------------------------------------------------------------------


def escape_data(text: str) -> str:
    """A workflow command's message, escaped as GitHub's toolkit does (`escapeData`)."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """A workflow command's property value (`escapeProperty`): also `:` and `,`."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def _annotation(level: str, path: str, line: int, code: str, message: str) -> str:
    properties = ",".join(
        f"{key}={escape_property(value)}"
        for key, value in (
            ("file", path),
            ("line", str(max(line, 1))),
            ("title", f"{TOOL_NAME} {code}"),
        )
    )
    return f"::{level} {properties}::{escape_data(message)}"


def github_annotations(report: Report, rule: ChangeRule = FIX_RULE) -> str:
    """One workflow command per line (`::error file=...,line=...,title=...::message`).

    Diagnostics keep their severity (info becomes `notice`); each pending change is an `error`
    titled `celery-codemod missing-options`. Ordered by path and line, diagnostics before changes
    on the same line. Empty when there is nothing to report.
    """
    entries: list[tuple[str, int, int, str]] = []
    for order, d in enumerate(report.diagnostics):
        text = _annotation(GITHUB_LEVELS[d.severity], d.path, d.line, d.code, d.message)
        entries.append((d.path, d.line, order, text))
    base = len(entries)
    for order, c in enumerate(_changes(report)):
        text = _annotation("error", c.path, c.line, rule.code, rule.describe(c))
        entries.append((c.path, c.line, base + order, text))
    entries.sort(key=lambda entry: entry[:3])
    return "".join(f"{text}\n" for *_, text in entries)


def dump_github(report: Report) -> str:
    return github_annotations(report)


# --- SARIF: text positions and edits -------------------------------------------------------------


def split_lines(text: str) -> list[str]:
    """SARIF's lines: each ends with its newline sequence (CRLF, CR or LF), the last maybe not."""
    return _LINE.findall(text)


class _Positions:
    """Offsets in a text to SARIF (line, column), both 1-based, columns in code points."""

    def __init__(self, text: str) -> None:
        self.starts: list[int] = []
        offset = 0
        for line in split_lines(text):
            self.starts.append(offset)
            offset += len(line)

    def __call__(self, offset: int) -> tuple[int, int]:
        if not self.starts:
            return 1, 1
        index = bisect_right(self.starts, offset) - 1
        # At the very end of a text that ends with a newline this stays on the last line, one
        # column past its newline sequence, as SARIF 3.30.2 says for an end-of-file insertion.
        return index + 1, offset - self.starts[index] + 1


Edit = tuple[int, int, str]  # replace old[start:end] with text


def _common_affixes(a: str, b: str) -> tuple[int, int]:
    limit = min(len(a), len(b))
    prefix = 0
    while prefix < limit and a[prefix] == b[prefix]:
        prefix += 1
    suffix = 0
    while suffix < limit - prefix and a[-1 - suffix] == b[-1 - suffix]:
        suffix += 1
    return prefix, suffix


def _subsequence_insertions(old: str, new: str) -> list[Edit] | None:
    """Insertions that turn `old` into `new`, matching each old character to the next equal one
    in `new` (linear time); None when `old` is not a subsequence of `new`."""
    edits: list[Edit] = []
    position = 0
    for index, char in enumerate(old):
        found = new.find(char, position)
        if found < 0:
            return None
        if found > position:
            edits.append((index, index, new[position:found]))
        position = found + 1
    if position < len(new):
        edits.append((len(old), len(old), new[position:]))
    return edits


def _insertions(old: str, new: str) -> list[Edit] | None:
    """Insertions alone that turn `old` into `new`; None when `old` is not a subsequence of it."""
    if len(old) + len(new) <= CHAR_DIFF_LIMIT:  # the character diff is quadratic at worst
        opcodes = SequenceMatcher(None, old, new, autojunk=False).get_opcodes()
        if all(tag in ("equal", "insert") for tag, *_ in opcodes):
            return [(i1, i1, new[j1:j2]) for tag, i1, _, j1, j2 in opcodes if tag == "insert"]
    # The longest-block alignment can miss one that exists.
    return _subsequence_insertions(old, new)


def _block_edits(old: str, new: str) -> list[Edit]:
    """Edits within one block of changed lines: insertions when that is all it takes, else one
    replacement of the span between the common prefix and suffix."""
    prefix, suffix = _common_affixes(old, new)
    old_middle, new_middle = old[prefix : len(old) - suffix], new[prefix : len(new) - suffix]
    insertions = _insertions(old_middle, new_middle)
    if insertions is None:
        return [(prefix, len(old) - suffix, new_middle)]
    return [(prefix + start, prefix + end, text) for start, end, text in insertions]


def _apply(old: str, edits: Sequence[Edit]) -> str:
    parts: list[str] = []
    position = 0
    for start, end, text in edits:
        parts.append(old[position:start])
        parts.append(text)
        position = end
    parts.append(old[position:])
    return "".join(parts)


def text_edits(old: str, new: str) -> list[Edit]:
    """The edits that turn `old` into `new`, in order, as offsets into `old`.

    Lines first (an inserted line is one insertion), then characters within each block of changed
    lines, so the edit is exact without a character diff of the whole file. The rewrite only
    inserts text, so this gives insertions only whenever `old` is a subsequence of `new` within
    each changed block; a block that is not becomes one replacement of its changed span. Checked
    by applying it: if that did not give `new` back, the result is one replacement of the whole.
    """
    old_lines, new_lines = split_lines(old), split_lines(new)
    starts = [0]
    for line in old_lines:
        starts.append(starts[-1] + len(line))
    # Changed blocks of lines, [i1, i2, j1, j2]; blocks a few equal lines apart are one block,
    # so that a line matched to its twin on the wrong side of an edit cannot split an insertion
    # into an insertion and a deletion.
    blocks: list[list[int]] = []
    # autojunk (the default) keeps this near-linear: lines that repeat a lot (blank lines, `)`)
    # do not start a match, but matches still extend over them.
    matcher = SequenceMatcher(None, old_lines, new_lines)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        if blocks and i1 - blocks[-1][1] <= MERGE_GAP:
            blocks[-1][1], blocks[-1][3] = i2, j2
        else:
            blocks.append([i1, i2, j1, j2])
    edits: list[Edit] = []
    for i1, i2, j1, j2 in blocks:
        start, end = starts[i1], starts[i2]
        inserted = "".join(new_lines[j1:j2])
        if i1 == i2:
            edits.append((start, start, inserted))
        else:
            edits.extend(
                (start + s, start + e, text)
                for s, e, text in _block_edits(old[start:end], inserted)
            )
    if any(start != end for start, end, _ in edits):
        # Rare: lines matched to their twins across far-apart edits. Insertions over the whole
        # changed span still exist when the rewrite only inserted.
        prefix, suffix = _common_affixes(old, new)
        whole = _subsequence_insertions(
            old[prefix : len(old) - suffix], new[prefix : len(new) - suffix]
        )
        if whole is not None:
            edits = [(prefix + start, prefix + end, text) for start, end, text in whole]
    if _apply(old, edits) != new:  # pragma: no cover - a safety net, not expected
        return [(0, len(old), new)]
    return edits


def _region(positions: _Positions, start: int, end: int) -> dict[str, int]:
    start_line, start_column = positions(start)
    end_line, end_column = positions(end)
    return {
        "startLine": start_line,
        "startColumn": start_column,
        "endLine": end_line,
        "endColumn": end_column,
    }


# --- SARIF: the document -------------------------------------------------------------------------


def artifact_uri(path: str) -> str:
    """A report path as a relative URI reference (`/` separators, percent-encoded)."""
    # The file system's bytes: a name that is not UTF-8 is quoted byte for byte.
    return quote(os.fsencode(path.replace("\\", "/")), safe="/")


def _location(path: str, line: int) -> dict[str, Any]:
    return {
        "physicalLocation": {
            "artifactLocation": {"uri": artifact_uri(path), "uriBaseId": SRCROOT},
            "region": {"startLine": max(line, 1)},
        }
    }


def _fix(result: FileResult, rule: ChangeRule = FIX_RULE) -> dict[str, Any]:
    assert result.new_source is not None
    positions = _Positions(result.source)
    replacements = []
    for start, end, text in text_edits(result.source, result.new_source):
        replacement: dict[str, Any] = {"deletedRegion": _region(positions, start, end)}
        if text:
            replacement["insertedContent"] = {"text": text}
        replacements.append(replacement)
    return {
        "description": {"text": rule.fix_text(result)},
        "artifactChanges": [
            {
                "artifactLocation": {"uri": artifact_uri(result.path), "uriBaseId": SRCROOT},
                "replacements": replacements,
            }
        ],
    }


def _rule(code: str, level: str) -> dict[str, Any]:
    description = RULE_DESCRIPTIONS.get(code, f"celery-codemod diagnostic {code}.")
    return {
        "id": code,
        "shortDescription": {"text": description},
        "defaultConfiguration": {"level": level},
    }


def sarif_document(
    report: Report,
    *,
    tool_version: str,
    information_uri: str | None = None,
    rule: ChangeRule = FIX_RULE,
) -> dict[str, Any]:
    """The report as a SARIF 2.1.0 log with one run.

    Each diagnostic is a result whose `ruleId` is its code; each pending change is a
    `missing-options` result at level `error`. Rules are the codes used, plus `missing-options`.
    Columns count Unicode code points (`columnKind: unicodeCodePoints`).

    Fixes: a file's rewrite is attached, whole, to the first `missing-options` result of that file
    (the others in the file carry none). It is one `artifactChange` whose `replacements` are
    zero-length `deletedRegion`s at the insertion points with the inserted text, in the
    unmodified file's coordinates; applied in order they give exactly the verified new source.
    Splitting it per call would need each call's extent, which a change does not record (a call
    nested in another's arguments, or a beat entry whose `options` come before its `"task"` key,
    would be split wrongly), and a consumer applying one partial fix could leave broken code.
    """
    rules = {rule.code: _rule(rule.code, "error")}
    for d in report.diagnostics:
        rules.setdefault(d.code, _rule(d.code, SARIF_LEVELS[d.severity]))
    rule_index = {code: number for number, code in enumerate(rules)}

    entries: list[tuple[str, int, int, dict[str, Any]]] = []
    for d in report.diagnostics:
        result = _result(d.code, SARIF_LEVELS[d.severity], d.message, d.path, d.line)
        entries.append((d.path, d.line, len(entries), result))
    for file_result in report.changed:
        changes = file_result.changes
        first = min(range(len(changes)), key=lambda k: changes[k].line, default=-1)
        for position, change in enumerate(changes):
            result = _result(rule.code, "error", rule.describe(change), change.path, change.line)
            result["properties"] = {"task": change.task, "added": dict(change.added)}
            if position == first:
                result["fixes"] = [_fix(file_result, rule)]
            entries.append((change.path, change.line, len(entries), result))
    entries.sort(key=lambda entry: entry[:3])
    results = []
    for *_, result in entries:
        result["ruleIndex"] = rule_index[result["ruleId"]]
        results.append(result)

    driver: dict[str, Any] = {"name": TOOL_NAME, "version": tool_version}
    if information_uri is not None:
        driver["informationUri"] = information_uri
    driver["rules"] = list(rules.values())
    return {
        "$schema": SARIF_SCHEMA,
        "version": SARIF_VERSION,
        "runs": [
            {
                "tool": {"driver": driver},
                "columnKind": "unicodeCodePoints",
                "results": results,
            }
        ],
    }


def _result(code: str, level: str, message: str, path: str, line: int) -> dict[str, Any]:
    return {
        "ruleId": code,
        "level": level,
        "message": {"text": message},
        "locations": [_location(path, line)],
    }


def dump_sarif(report: Report, *, tool_version: str = __version__) -> str:
    return json.dumps(sarif_document(report, tool_version=tool_version), indent=2) + "\n"
