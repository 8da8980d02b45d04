"""The cache's format: plain typed records, exact keys, verified edits, bounded size."""

from __future__ import annotations

import json
import os
import random
import shutil
import sqlite3
import sys
import time
from dataclasses import make_dataclass, replace
from pathlib import Path

import pytest

from codemods.cache import _checksum, edit_codec, scan_codec
from codemods.model import Concat, FileScan, ModuleFacts, StatementEdits
from codemods.serial import Codec, DecodeError
from tests.conftest import FIXTURES, git, init_repo, run_cli

TASK = 'from celery import Celery\napp = Celery("p")\n@app.task(queue="q")\ndef add(): pass\n'


@pytest.fixture
def demo(tmp_path: Path, in_dir) -> Path:
    work = tmp_path / "demo"
    shutil.copytree(FIXTURES / "demo", work, ignore=shutil.ignore_patterns("expected.*"))
    return in_dir(work)


def outputs(*args: str) -> tuple[int, bytes, str]:
    result = run_cli("fix", "--format", "json", *args)
    return result.exit_code, result.stdout_bytes, result.stderr


def database(private_cache: Path) -> Path:
    (found,) = private_cache.glob("cache-*.sqlite")
    return found


def tree_of(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(root.rglob("*.py"))
        if p.is_file() and ".git" not in p.parts
    }


# -- the codec ------------------------------------------------------------------------------------


def test_records_round_trip_and_deep_values_need_no_deep_stack() -> None:
    codec = scan_codec()
    deep: object = "x"
    for _ in range(5_000):
        deep = Concat(("a ", deep))  # type: ignore[arg-type]
    scan = FileScan("m.py", ModuleFacts("m", "m.py", constants={"Q": deep}), digest=b"\1" * 20)  # type: ignore[dict-item]
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(400)
    try:
        data = codec.encode(scan, own_path="m.py")
        back = codec.decode(data, own_path="elsewhere/m.py")
    finally:
        sys.setrecursionlimit(limit)
    assert back.display == "elsewhere/m.py" and back.facts is not None
    assert back.facts.path == "elsewhere/m.py", "the file's own path follows where it is shown"
    depth, value = 0, back.facts.constants["Q"]
    while isinstance(value, Concat):
        depth, value = depth + 1, value.parts[1]
    assert depth == 5_000 and value == "x"
    assert b"pickle" not in data and data.startswith(b"[")


def test_data_that_is_not_well_typed_records_is_refused() -> None:
    codec = scan_codec()
    good = codec.encode(FileScan("m.py", ModuleFacts("m", "m.py"), digest=b"\1" * 20))
    for bad in (
        b"",
        b"[]",
        b"{}",
        b"[true]",
        b"[[" * 100_000,
        good.replace(b'"m"', b"1"),  # a module name that is a number
        good.replace(b"ModuleFacts", b"ScannedCalls"),
        good.replace(b"ModuleFacts", b"os.system"),
        good[:-2],
        b'[["x",null,null,null,""],["Concat",[[["@",1]]]]]',  # a value that refers to itself
    ):
        with pytest.raises(DecodeError):
            codec.decode(bad)


def test_the_fingerprint_follows_the_record_definitions() -> None:
    def record(*fields: tuple[str, type]) -> type:
        inner = make_dataclass("Inner", list(fields), frozen=True)
        return make_dataclass("Outer", [("inner", inner), ("count", int)], frozen=True)

    first = Codec(record(("name", str))).fingerprint
    assert Codec(record(("name", str))).fingerprint == first
    assert Codec(record(("name", str), ("line", int))).fingerprint != first, "a field added"
    assert Codec(record(("label", str))).fingerprint != first, "a field renamed"
    assert Codec(record(("name", bytes))).fingerprint != first, "a field's type changed"
    assert scan_codec().fingerprint != edit_codec().fingerprint


# -- keys -----------------------------------------------------------------------------------------


def test_same_size_and_normalised_mtime_is_not_trusted(tmp_path: Path, in_dir) -> None:
    """Build systems that normalise mtimes (Nix: 1 s) give new content the same size and mtime."""
    in_dir(tmp_path)
    (tmp_path / "proj").mkdir()
    (tmp_path / "proj" / "__init__.py").write_text("")
    (tmp_path / "proj" / "celery.py").write_text(TASK)
    producer = tmp_path / "p.py"

    def put(line: str) -> None:
        producer.write_text(f"from proj.celery import app\n{line}\n")
        for path in (producer, tmp_path / "proj" / "celery.py"):
            os.utime(path, ns=(10**9, 10**9))

    put('app.send_task("proj.celery.add", queue="q")#')
    assert run_cli("fix", "--check", ".").exit_code == 0
    put('app.send_task("proj.celery.add", priority=9)')  # same size and mtime, lacks queue
    assert run_cli("fix", "--check", ".").exit_code == 1
    put('app.send_task("proj.celery.add", countdown=1)')
    run_cli("fix", "--check", ".")
    put('app.send_task("proj.celery.add", countdown=2)')
    for _ in range(2):
        result = run_cli("fix", ".")
        assert "changed while celery-codemod ran" not in result.stderr
        assert 'countdown=2, queue="q"' in result.stdout


def test_a_tracked_file_changed_in_the_work_tree_is_read_again(tmp_path: Path, in_dir) -> None:
    repo = tmp_path / "repo"
    shutil.copytree(FIXTURES / "demo", repo, ignore=shutil.ignore_patterns("expected.*"))
    init_repo(in_dir(repo))
    cold = outputs("--no-cache")
    assert outputs() == cold and outputs() == cold
    views = repo / "producers" / "api" / "views.py"
    stat = views.stat()
    # Git's index compares whole seconds of ctime (as `git status` does): edit in a later second.
    time.sleep(1.1)
    views.write_text(views.read_text().replace("proj.media.transcode", "proj.media.transcodx"))
    os.utime(views, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert outputs() == outputs("--no-cache")
    assert b"proj.media.transcodx" in outputs()[1]


def test_a_cache_of_another_build_is_never_read(demo: Path, private_cache: Path) -> None:
    cold = outputs("--no-cache")
    outputs()
    db = sqlite3.connect(database(private_cache))
    db.execute("UPDATE meta SET value = 'an older build' WHERE key = 'build'")
    db.execute("UPDATE scans SET payload = CAST('[1]' AS BLOB)")
    db.commit()
    db.close()
    assert outputs() == cold
    assert outputs() == cold


def test_one_database_per_repository_whatever_the_working_directory(
    tmp_path: Path, in_dir, private_cache: Path
) -> None:
    repo = tmp_path / "repo"
    shutil.copytree(FIXTURES / "demo", repo, ignore=shutil.ignore_patterns("expected.*"))
    init_repo(in_dir(repo))
    run_cli("fix", "--check")
    in_dir(repo / "producers")
    run_cli("fix", "--check", "..")
    assert len(list(private_cache.glob("cache-*.sqlite"))) == 1


# -- never write what was not verified, never a traceback -----------------------------------------


def _poison(private_cache: Path, table: str, change) -> None:
    """Rewrite every row's payload with `change`, with a checksum that matches (a forged row)."""
    db = sqlite3.connect(database(private_cache))
    if table == "edits":
        for path, key, payload in db.execute("SELECT path, key, payload FROM edits").fetchall():
            forged = change(payload, path)
            db.execute(
                "UPDATE edits SET payload = ?, checksum = ? WHERE path = ?",
                (forged, _checksum(path, key, forged), path),
            )
    else:
        rows = db.execute(
            "SELECT path, variant, digest, payload, bindings, calls, refs FROM scans"
        ).fetchall()
        for path, variant, digest, payload, bindings, calls, refs in rows:
            # The call sites are kept apart from the rest of the scan: both are forged.
            forged, forged_calls = change(payload, path), change(calls, path) if calls else calls
            checksum = _checksum(path, variant, digest, forged, bindings, forged_calls, refs)
            db.execute(
                "UPDATE scans SET payload = ?, calls = ?, checksum = ? "
                "WHERE path = ? AND variant = ?",
                (forged, forged_calls, checksum, path, variant),
            )
    db.commit()
    db.close()


def test_a_forged_edit_row_is_verified_again_and_never_written(
    demo: Path, private_cache: Path, tmp_path: Path
) -> None:
    clean = tree_of(demo)
    expected = tmp_path / "expected"
    shutil.copytree(demo, expected)
    run_cli("fix", "--write", "--no-cache", str(expected))
    outputs()  # fills the cache, edits included

    def inject(payload: bytes, path: bytes) -> bytes:
        edits = edit_codec().decode(payload)
        statements = tuple(
            replace(s, text=s.text.replace("(", "(__import__('os').system('id') or ", 1))
            for s in edits.statements
        )
        return edit_codec().encode(StatementEdits(statements))

    _poison(private_cache, "edits", inject)
    result = run_cli("fix", "--write", "--allow-dirty")
    assert "Traceback" not in result.stderr
    assert tree_of(demo) == tree_of(expected) != clean
    assert "system" not in "".join(p.read_text() for p in demo.rglob("*.py"))


def test_a_wrongly_typed_scan_row_is_a_miss(demo: Path, private_cache: Path) -> None:
    cold = outputs("--no-cache")
    outputs()

    def damage(payload: bytes, path: bytes) -> bytes:
        if payload.startswith(b"[[["):  # call sites kept apart: a ScannedCalls with a field more
            return b"[[true, [[" + payload[3:]
        entries = json.loads(payload)
        text = json.dumps(entries).replace('"ScannedCalls", [[', '"ScannedCalls", [true, [', 1)
        return text.encode()

    _poison(private_cache, "scans", damage)
    assert outputs() == cold


def test_random_byte_flips_never_change_a_written_file(
    demo: Path, private_cache: Path, tmp_path: Path
) -> None:
    expected = tmp_path / "expected"
    shutil.copytree(demo, expected)
    run_cli("fix", "--write", "--no-cache", str(expected))
    outputs()
    pristine = {p.name: p.read_bytes() for p in private_cache.iterdir()}
    rng = random.Random(1234)
    for trial in range(40):
        shutil.rmtree(private_cache)
        private_cache.mkdir()
        for name, data in pristine.items():
            flipped = bytearray(data)
            if name.endswith(".sqlite") and flipped:
                for _ in range(rng.randint(1, 8)):
                    flipped[rng.randrange(len(flipped))] ^= 1 << rng.randrange(8)
            (private_cache / name).write_bytes(bytes(flipped))
        work = tmp_path / f"trial{trial}"
        shutil.copytree(demo, work)
        result = run_cli("fix", "--write", "--allow-dirty", str(work))  # raises on a traceback
        assert tree_of(work) == tree_of(expected), f"trial {trial}: {result.stderr}"


# -- bounded --------------------------------------------------------------------------------------


def test_rows_stay_bounded_when_the_tree_is_renamed(tmp_path: Path, in_dir) -> None:
    (tmp_path / "tree" / "svc0").mkdir(parents=True)
    tree = in_dir(tmp_path / "tree")
    for i in range(60):
        (tree / "svc0" / f"m{i}.py").write_text(f"def f():\n    return {i}  # task\n")
    counts = []
    for cycle in range(1, 8):
        run_cli("fix", "--check", ".")
        info = json.loads(run_cli("cache", "info", "--format", "json").stdout)
        counts.append(info["rows"])
        (tree / f"svc{cycle - 1}").rename(tree / f"svc{cycle}")
    assert all(c == counts[0] for c in counts), counts
    assert counts[0]["files"] == 60 and counts[0]["scans"] == 60


def test_cache_info_and_clean(demo: Path, private_cache: Path) -> None:
    empty = json.loads(run_cli("cache", "info", "--format", "json").stdout)
    assert empty["exists"] is False and empty["rows"] == {}
    outputs()
    info = json.loads(run_cli("cache", "info", "--format", "json").stdout)
    assert info["exists"] and info["database"].startswith(str(private_cache))
    assert info["rows"]["files"] == 10 and info["bytes"] > 0
    assert "rows: 10 files" in run_cli("cache", "info").stdout
    cleaned = run_cli("cache", "clean")
    assert "1 cache database(s) removed" in cleaned.stderr
    assert not list(private_cache.glob("cache-*.sqlite"))


def test_worker_processes_send_deep_scans_back(tmp_path: Path, in_dir) -> None:
    in_dir(tmp_path)
    (tmp_path / "sql.py").write_text(
        "QUERY = " + " + ".join(['"x "'] * 400) + "\n# the module mentions a task\n"
    )
    (tmp_path / "producer.py").write_text(
        "from celery import current_app\ncurrent_app.send_task('t')\n"
    )
    for i in range(70):
        (tmp_path / f"m{i}.py").write_text("import sql\n")
    cached = run_cli("fix", "--jobs", "2", ".")
    warm = run_cli("fix", "--jobs", "2", ".")
    pool = run_cli("fix", "--no-cache", "--jobs", "2", ".")
    assert cached.stdout == warm.stdout == pool.stdout
    assert "72 files scanned" in pool.stderr and "Traceback" not in pool.stderr


def test_a_file_name_that_is_not_utf8_works_in_every_format(tmp_path: Path, in_dir) -> None:
    in_dir(tmp_path)
    git(tmp_path, "init", "-q")
    (tmp_path / "proj").mkdir()
    (tmp_path / "proj" / "__init__.py").write_text("")
    (tmp_path / "proj" / "celery.py").write_text(TASK)
    name = os.fsdecode(b"caf\xe9.py")
    (tmp_path / name).write_text('from proj.celery import app\napp.send_task("proj.celery.add")\n')
    for form in ("text", "json", "github", "sarif"):
        for _ in range(2):  # cold, then warm
            result = run_cli("fix", "--check", "--format", form, ".")
            assert result.exit_code == 1, result.stderr
    sarif = json.loads(run_cli("fix", "--format", "sarif", ".").stdout)
    uris = {
        loc["physicalLocation"]["artifactLocation"]["uri"]
        for run in sarif["runs"]
        for r in run["results"]
        for loc in r["locations"]
    }
    assert "caf%E9.py" in uris


def test_rows_and_databases_unused_for_30_days_expire(demo: Path, private_cache: Path) -> None:
    outputs()
    path = database(private_cache)
    stale = private_cache / "cache-other-0123456789abcdef.sqlite"
    shutil.copy(path, stale)
    month_ago = time.time() - 31 * 86_400
    os.utime(stale, (month_ago, month_ago))
    db = sqlite3.connect(path)
    db.execute(
        "INSERT INTO files SELECT CAST('/gone/elsewhere.py' AS BLOB), size, mtime_ns, "
        "ctime_ns, inode, checked_ns, digest, plain, used - 31, checksum FROM files LIMIT 1"
    )
    db.execute("UPDATE meta SET value = '0' WHERE key = 'expired'")
    db.commit()
    db.close()
    outputs()
    db = sqlite3.connect(path)
    assert db.execute("SELECT count(*) FROM files WHERE path LIKE '/gone/%'").fetchone() == (0,)
    assert db.execute("SELECT count(*) FROM files").fetchone() == (10,)
    db.close()
    assert not stale.exists()


def test_tables_of_another_build_with_other_columns_are_replaced(
    demo: Path, private_cache: Path
) -> None:
    cold = outputs("--no-cache")
    outputs()
    db = sqlite3.connect(database(private_cache))
    db.execute("DROP TABLE scans")
    db.execute("CREATE TABLE scans (path TEXT, pickled BLOB)")
    db.execute("UPDATE meta SET value = 'a later build' WHERE key = 'build'")
    db.commit()
    db.close()
    first = outputs()
    assert first == cold and "cache not" not in first[2]
    assert outputs() == cold
    info = json.loads(run_cli("cache", "info", "--format", "json").stdout)
    assert info["rows"]["scans"] > 0
