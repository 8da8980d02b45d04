"""CI output formats: GitHub Actions workflow commands and SARIF 2.1.0.

The SARIF documents are made from real runs over the demo and the golden cases, validated against
the official SARIF 2.1.0 schema (tests/data, see the LICENSE file there), and their fixes are
applied to the files on disk: that must give back exactly the rewrite's new source.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from codemods import formats
from codemods.model import Change, Diagnostic, FileResult, Severity
from codemods.report import Report
from codemods.run import Settings, collect
from tests.conftest import FIXTURES

SCHEMA_FILE = Path(__file__).parent / "data" / "sarif-schema-2.1.0.json"
CASES = [*sorted(p for p in (FIXTURES / "cases").iterdir() if p.is_dir()), FIXTURES / "demo"]


@pytest.fixture(scope="module")
def validator() -> jsonschema.protocols.Validator:
    schema = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


def assert_valid(validator: jsonschema.protocols.Validator, document: dict[str, Any]) -> None:
    errors = sorted(validator.iter_errors(document), key=lambda e: list(e.absolute_path))
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors)


def _args(case: Path) -> list[str]:
    extra = case / "args"
    return extra.read_text().split() if extra.exists() else []


def run_case(case: Path, monkeypatch: pytest.MonkeyPatch) -> Report:
    """The real pipeline over a fixture folder, from inside it (it writes nothing)."""
    monkeypatch.chdir(case)
    args = _args(case)
    roots = tuple(
        Path(value) for flag, value in itertools.pairwise(args) if flag == "--source-root"
    )
    return collect(Settings(paths=(Path("."),), source_roots=roots)).report


# --- applying SARIF fixes, independently of formats.py --------------------------------------------


def _line_starts(text: str) -> list[int]:
    """Offsets where SARIF lines start: after each CRLF, CR or LF."""
    starts, index = [0], 0
    while index < len(text):
        if text.startswith("\r\n", index):
            index += 2
        elif text[index] in "\r\n":
            index += 1
        else:
            index += 1
            continue
        if index < len(text):
            starts.append(index)
    return starts


def _offset(text: str, starts: list[int], line: int, column: int) -> int:
    assert 1 <= line <= len(starts) or (line == 1 and not text)
    offset = (starts[line - 1] if starts else 0) + column - 1
    assert 0 <= offset <= len(text)
    end = starts[line] if line < len(starts) else len(text)
    assert offset <= end, "a column past the end of its line"
    return offset


def apply_replacements(text: str, replacements: list[dict[str, Any]]) -> str:
    """SARIF 3.57: regions in the unmodified text, applied in array order, none overlapping."""
    starts = _line_starts(text)
    spans = []
    for replacement in replacements:
        region = replacement["deletedRegion"]
        start = _offset(text, starts, region["startLine"], region["startColumn"])
        end = _offset(text, starts, region.get("endLine", region["startLine"]), region["endColumn"])
        assert start <= end
        spans.append((start, end, replacement.get("insertedContent", {}).get("text", "")))
    out, position = [], 0
    for start, end, inserted in spans:
        assert start >= position, "replacements out of order or overlapping"
        out += [text[position:start], inserted]
        position = end
    return "".join([*out, text[position:]])


def fixes_by_path(document: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    found: dict[str, list[dict[str, Any]]] = {}
    for result in document["runs"][0]["results"]:
        for fix in result.get("fixes", []):
            for change in fix["artifactChanges"]:
                path = unquote(change["artifactLocation"]["uri"])
                assert path not in found, "one fix per file"
                found[path] = change["replacements"]
    return found


# --- SARIF from real runs -----------------------------------------------------------------------


@pytest.mark.parametrize("case", CASES, ids=lambda p: p.name)
def test_sarif_of_a_real_run_is_valid_and_its_fixes_give_the_new_source(
    case: Path, monkeypatch: pytest.MonkeyPatch, validator: jsonschema.protocols.Validator
) -> None:
    report = run_case(case, monkeypatch)
    assert report.changed, "each case changes something"
    document = json.loads(formats.dump_sarif(report, tool_version="9.9.9"))
    assert_valid(validator, document)

    (run,) = document["runs"]
    assert document["version"] == "2.1.0"
    assert run["tool"]["driver"]["name"] == "celery-codemod"
    assert run["tool"]["driver"]["version"] == "9.9.9"
    assert run["columnKind"] == "unicodeCodePoints"
    rules = [rule["id"] for rule in run["tool"]["driver"]["rules"]]
    assert len(rules) == len(set(rules))
    assert set(rules) == {"missing-options"} | {d.code for d in report.diagnostics}

    # Every diagnostic appears, with its level, and every pending change once.
    levels = {"error": Severity.ERROR, "warning": Severity.WARNING, "note": Severity.INFO}
    seen_diagnostics, seen_changes = [], []
    for result in run["results"]:
        assert rules[result["ruleIndex"]] == result["ruleId"]
        (location,) = result["locations"]
        physical = location["physicalLocation"]
        path = unquote(physical["artifactLocation"]["uri"])
        line = physical["region"]["startLine"]
        if result["ruleId"] == "missing-options":
            assert result["level"] == "error"
            seen_changes.append((path, line, result["properties"]["task"]))
        else:
            seen_diagnostics.append(
                Diagnostic(
                    path, line, result["ruleId"], levels[result["level"]], result["message"]["text"]
                )
            )
    assert sorted(seen_diagnostics, key=repr) == sorted(report.diagnostics, key=repr)
    expected_changes = [(c.path, c.line, c.task) for r in report.changed for c in r.changes]
    assert sorted(seen_changes) == sorted(expected_changes)

    # The fixes, applied to the files as they are on disk, give exactly the rewrite's output.
    fixes = fixes_by_path(document)
    assert set(fixes) == {r.path for r in report.changed}
    for result in report.changed:
        on_disk = Path(result.path).read_bytes().decode("utf-8")
        assert on_disk == result.source
        assert apply_replacements(on_disk, fixes[result.path]) == result.new_source
        for replacement in fixes[result.path]:
            region = replacement["deletedRegion"]
            # The rewrite only inserts: every replacement is an insertion point.
            assert (region["startLine"], region["startColumn"]) == (
                region["endLine"],
                region["endColumn"],
            )


def test_sarif_keeps_line_endings_of_a_crlf_file(monkeypatch: pytest.MonkeyPatch) -> None:
    report = run_case(FIXTURES / "cases" / "formatting", monkeypatch)
    (crlf,) = [r for r in report.changed if r.path.endswith("crlf.py")]
    assert "\r\n" in crlf.source
    fix = fixes_by_path(formats.sarif_document(report, tool_version="0"))[crlf.path]
    assert apply_replacements(crlf.source, fix) == crlf.new_source


def test_sarif_of_a_report_without_changes(validator: jsonschema.protocols.Validator) -> None:
    report = Report(
        [FileResult("a.py", "x = 1\n")],
        [Diagnostic("a.py", 0, "parse-error", Severity.ERROR, "cannot parse")],
        files_scanned=1,
        tasks_indexed=0,
    )
    document = formats.sarif_document(
        report, tool_version="0.1.0", information_uri="https://x.example/"
    )
    assert_valid(validator, document)
    (run,) = document["runs"]
    assert run["tool"]["driver"]["informationUri"] == "https://x.example/"
    assert [r["id"] for r in run["tool"]["driver"]["rules"]] == ["missing-options", "parse-error"]
    (result,) = run["results"]
    assert result["level"] == "error"
    assert result["locations"][0]["physicalLocation"]["region"] == {"startLine": 1}
    assert "fixes" not in result


def test_sarif_uri_is_percent_encoded(validator: jsonschema.protocols.Validator) -> None:
    source = "app.send_task('t')\n"
    new = "app.send_task('t', queue='q')\n"
    change = Change("my dir/ü%.py", 1, "t", {"queue": "q"})
    report = Report([FileResult("my dir/ü%.py", source, new, (change,))], [], 1, 1)
    document = formats.sarif_document(report, tool_version="0")
    assert_valid(validator, document)
    (result,) = document["runs"][0]["results"]
    uri = result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
    assert uri == "my%20dir/%C3%BC%25.py"
    assert unquote(uri) == "my dir/ü%.py"
    assert result["message"]["text"] == (
        "task 't' declares queue='q'; this call does not pass them "
        "(celery-codemod fix --write adds them)"
    )
    replacements = result["fixes"][0]["artifactChanges"][0]["replacements"]
    assert replacements == [
        {
            "deletedRegion": {"startLine": 1, "startColumn": 18, "endLine": 1, "endColumn": 18},
            "insertedContent": {"text": ", queue='q'"},
        }
    ]


def test_fix_goes_on_the_first_change_of_each_file() -> None:
    source = "a('x')\nb('y')\n"
    new = "a('x', q=1)\nb('y', q=1)\n"
    changes = (Change("f.py", 1, "x", {"q": 1}), Change("f.py", 2, "y", {"q": 1}))
    report = Report([FileResult("f.py", source, new, changes)], [], 1, 2)
    results = formats.sarif_document(report, tool_version="0")["runs"][0]["results"]
    assert [("fixes" in r) for r in results] == [True, False]
    replacements = results[0]["fixes"][0]["artifactChanges"][0]["replacements"]
    assert apply_replacements(source, replacements) == new
    assert len(replacements) == 2


def test_columns_count_code_points_and_eof_insertions() -> None:
    # A non-BMP character is one column (columnKind unicodeCodePoints), two in UTF-16.
    old = "s = '😀'; f(1)\nlast"
    new = "s = '😀'; f(1, q=2)\nlast\n"
    edits = formats.text_edits(old, new)
    assert edits == [(12, 12, ", q=2"), (18, 18, "\n")]
    positions = formats._Positions(old)
    assert positions(12) == (1, 13)  # 13 in UTF-16
    assert positions(len(old)) == (2, 5)
    # After a final newline, the end of the file is one column past the last line's newline.
    assert formats._Positions("a\r\n")(3) == (1, 4)
    assert formats._Positions("")(0) == (1, 1)


def test_a_change_that_is_not_an_insertion_becomes_one_replacement() -> None:
    old = "f(a, b)\nkeep\n"
    new = "f(b, c, d)\nkeep\n"
    edits = formats.text_edits(old, new)
    assert edits == [(2, 6, "b, c, d")]
    assert apply_replacements(old, _replacements(old, new)) == new


def _replacements(old: str, new: str) -> list[dict[str, Any]]:
    report = Report([FileResult("f.py", old, new, (Change("f.py", 1, "t", {"q": 1}),))], [], 1, 1)
    (result,) = formats.sarif_document(report, tool_version="0")["runs"][0]["results"]
    replacements: list[dict[str, Any]] = result["fixes"][0]["artifactChanges"][0]["replacements"]
    return replacements


_TEXT = st.text(alphabet=st.sampled_from(["a", "b", " ", ",", "(", ")", "\n", "\r", "é", "😀"]))


@settings(max_examples=300, deadline=None)
@given(old=_TEXT, new=_TEXT)
def test_replacements_reproduce_any_rewrite(old: str, new: str) -> None:
    if old != new:
        assert apply_replacements(old, _replacements(old, new)) == new


@settings(max_examples=300, deadline=None)
@given(old=_TEXT, data=st.data())
def test_insertions_stay_insertions(old: str, data: st.DataObject) -> None:
    points = sorted(data.draw(st.lists(st.integers(0, len(old)), min_size=1, max_size=4)))
    texts = data.draw(st.lists(_TEXT.filter(bool), min_size=len(points), max_size=len(points)))
    new, position = "", 0
    for point, text in zip(points, texts, strict=True):
        new += old[position:point] + text
        position = point
    new += old[position:]
    replacements = _replacements(old, new)
    assert apply_replacements(old, replacements) == new
    assert all(
        (r["deletedRegion"]["startLine"], r["deletedRegion"]["startColumn"])
        == (r["deletedRegion"]["endLine"], r["deletedRegion"]["endColumn"])
        for r in replacements
    )


# --- GitHub Actions -----------------------------------------------------------------------------


def test_github_annotations_exact_lines() -> None:
    source = "app.send_task('proj.add')\n"
    new = "app.send_task('proj.add', ignore_result=True, queue='fast')\n"
    change = Change("prod/calls.py", 1, "proj.add", {"ignore_result": True, "queue": "fast"})
    report = Report(
        [FileResult("prod/calls.py", source, new, (change,))],
        [
            Diagnostic("prod/calls.py", 1, "explicit-override", Severity.INFO, "kept"),
            Diagnostic("prod/calls.py", 9, "argument-mismatch", Severity.ERROR, "bad args"),
            Diagnostic("a.py", 3, "unknown-task", Severity.WARNING, "no task named 'x'"),
        ],
        files_scanned=2,
        tasks_indexed=1,
    )
    assert formats.dump_github(report).splitlines() == [
        "::warning file=a.py,line=3,title=celery-codemod unknown-task::no task named 'x'",
        "::notice file=prod/calls.py,line=1,title=celery-codemod explicit-override::kept",
        "::error file=prod/calls.py,line=1,title=celery-codemod missing-options::"
        "task 'proj.add' declares ignore_result=True, queue='fast'; this call does not pass "
        "them (celery-codemod fix --write adds them)",
        "::error file=prod/calls.py,line=9,title=celery-codemod argument-mismatch::bad args",
    ]
    assert formats.github_annotations(report).endswith("bad args\n")


def test_github_escaping() -> None:
    report = Report(
        [],
        [
            Diagnostic(
                "odd,name:x%.py",
                0,
                "dynamic-name",
                Severity.WARNING,
                "100% sure: a,b\nsecond line\r\nthird",
            )
        ],
        1,
        0,
    )
    assert formats.dump_github(report) == (
        "::warning file=odd%2Cname%3Ax%25.py,line=1,title=celery-codemod dynamic-name::"
        "100%25 sure: a,b%0Asecond line%0D%0Athird\n"
    )
    assert formats.escape_data("%0A") == "%250A"
    assert formats.escape_property("a:b,c%") == "a%3Ab%2Cc%25"


def test_github_annotations_of_a_real_run(monkeypatch: pytest.MonkeyPatch) -> None:
    report = run_case(FIXTURES / "demo", monkeypatch)
    lines = formats.dump_github(report).splitlines()
    assert len(lines) == len(report.diagnostics) + report.calls_changed
    assert (
        "::error file=producers/batch/jobs.py,line=24,title=celery-codemod argument-mismatch::"
        "task 'proj.billing.charge': missing required argument 'amount_cents'"
    ) in lines
    assert all(line.startswith(("::error ", "::warning ", "::notice ")) for line in lines)


def test_github_annotations_of_a_clean_report() -> None:
    assert formats.dump_github(Report([], [], 0, 0)) == ""
