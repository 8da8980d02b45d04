"""A cached file's call sites are kept apart from its scan: a run naming a few files decodes the
sites of those files only, and of the others only the names their calls look up. The result is
always the one a cold run gives."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from codemods.cache import _checksum, call_references, calls_codec
from codemods.model import NOT_LITERAL, CallSite, Concat, Ref, ScannedCalls
from tests.conftest import init_repo, run_cli

CELERY = 'from celery import Celery\napp = Celery("proj")\n'
JOBS = 'from proj.celery import app\n\n@app.task(name="proj.jobs.add", queue="fast")\ndef add():\n    pass\n'
# No hint in it: read only because a call elsewhere looks a name up in it; its routes then
# route the job every producer sends.
ROUTING = 'NAME = "proj.jobs.add"\nCELERY_ROUTES = {"proj.jobs.add": {"queue": "fast"}}\n'
NAMED = 'from proj.celery import app\n\napp.send_task("proj.jobs.add")\n'
OTHER = "from proj.celery import app\nfrom proj.routing import NAME\n\napp.send_task(NAME)\n"


def _tree(root: Path) -> Path:
    package = root / "proj"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "celery.py").write_text(CELERY)
    (package / "jobs.py").write_text(JOBS)
    (package / "routing.py").write_text(ROUTING)
    (root / "named.py").write_text(NAMED)
    (root / "other.py").write_text(OTHER)
    for i in range(5):  # more producers, never named
        (root / f"producer{i}.py").write_text(NAMED.replace("add", f"add{i}"))
    return init_repo(root)


def _check(*args: str) -> tuple[int, bytes, str]:
    result = run_cli("fix", "--check", "--format", "json", *args)
    assert "Traceback" not in result.stderr
    return result.exit_code, result.stdout_bytes, result.stderr


@pytest.fixture
def tree(tmp_path: Path, in_dir) -> Path:
    return in_dir(_tree(tmp_path / "repo"))


def test_a_run_naming_files_decodes_only_their_call_sites(
    tree: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cold = _check("named.py", "--no-cache")
    _check()  # every file planned: fills the cache
    decoded: list[str] = []
    codec = calls_codec()
    original = type(codec).decode

    def counting(self, data: bytes, own_path: str | None = None):  # type: ignore[no-untyped-def]
        if self is codec:
            decoded.append(str(own_path))
        return original(self, data, own_path)

    monkeypatch.setattr(type(codec), "decode", counting)
    assert _check("named.py") == cold
    assert decoded == ["named.py"]
    decoded.clear()
    assert _check("named.py", "other.py") == _check("named.py", "other.py", "--no-cache")
    assert sorted(decoded) == ["named.py", "other.py"]


def test_names_looked_up_by_calls_of_files_not_named_are_still_followed(tree: Path) -> None:
    cold = _check("named.py", "--no-cache")
    assert b"routed-by-config" in cold[1], "the routes of a module a name leads into are read"
    _check()
    assert _check("named.py") == cold
    assert _check("named.py") == cold


def test_call_references_are_the_values_a_lookup_reads_in_site_order() -> None:
    sites = (
        CallSite(1, 0, "send_task", "literal", given={"queue": "q", "priority": Ref("P")}),
        CallSite(2, 1, "send_task", Ref("a.NAME", "a"), given={"x": NOT_LITERAL}),
        CallSite(3, 2, "send_task", None, given={"y": Concat(("a", Ref("B")))}),
    )
    found = call_references(ScannedCalls(sites, frozenset({"send_task"})))
    assert found == (Ref("P"), Ref("a.NAME", "a"), Concat(("a", Ref("B"))))


def _forge(database: Path, column: str, change) -> int:
    """Rewrite `column` of every scans row with sites kept apart, with a matching checksum."""
    db = sqlite3.connect(database)
    rows = db.execute(
        "SELECT path, variant, digest, payload, bindings, calls, refs FROM scans"
    ).fetchall()
    forged = 0
    for path, variant, digest, payload, bindings, calls, refs in rows:
        if not calls:
            continue
        values = {"calls": calls, "refs": refs}
        values[column] = change(values[column])
        checksum = _checksum(path, variant, digest, payload, bindings, *values.values())
        db.execute(
            f"UPDATE scans SET {column} = ?, checksum = ? WHERE path = ? AND variant = ?",
            (values[column], checksum, path, variant),
        )
        forged += 1
    db.commit()
    db.close()
    return forged


@pytest.mark.parametrize("column", ["calls", "refs"])
@pytest.mark.parametrize(
    "change",
    [lambda data: data[:-3], lambda data: b'[["not", "sites"]]', lambda data: b""],
    ids=["cut", "wrong-records", "empty"],
)
def test_call_sites_kept_apart_that_do_not_decode_are_a_miss(
    tree: Path, private_cache: Path, column: str, change
) -> None:
    cold_named = _check("named.py", "--no-cache")
    cold_all = _check("--no-cache")
    _check()
    (database,) = private_cache.glob("cache-*.sqlite")
    assert _forge(database, column, change) >= 7
    assert _check("named.py") == cold_named
    assert _check() == cold_all


def test_damaged_call_sites_are_a_miss(tree: Path, private_cache: Path) -> None:
    """Without a matching checksum the row is not used at all."""
    cold = _check("named.py", "--no-cache")
    _check()
    (database,) = private_cache.glob("cache-*.sqlite")
    db = sqlite3.connect(database)
    db.execute("UPDATE scans SET refs = CAST('[[[]]]' AS BLOB) WHERE length(calls) > 0")
    db.execute("UPDATE scans SET calls = NULL WHERE path LIKE '%named.py'")
    db.commit()
    db.close()
    assert _check("named.py") == cold
    assert _check("named.py") == cold
