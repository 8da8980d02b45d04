"""A `plain` row (the blob ids of a folder's files without a hint) reads back as written: whole
entries only, each a module file or a package `__init__` as its mark says."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from codemods.cache import BLOB_ID_SIZE, INIT, Cache, _checksum
from codemods.run import DEFAULT_MAX_FILE_SIZE
from tests.conftest import init_repo, run_cli


def _entries(digests: bytes) -> tuple[set[bytes], set[bytes]]:
    """What the row says, read entry by entry."""
    modules, inits = set(), set()
    step = BLOB_ID_SIZE + 1
    for at in range(0, len(digests) - step + 1, step):
        blob, mark = digests[at : at + BLOB_ID_SIZE], digests[at + BLOB_ID_SIZE : at + step]
        (inits if mark == INIT else modules).add(blob)
    return modules, inits


def _json() -> tuple[int, bytes]:
    result = run_cli("fix", "--check", "--format", "json")
    return result.exit_code, result.stdout_bytes


def test_a_plain_row_reads_back_whole_entries(tmp_path: Path, in_dir, private_cache) -> None:
    repo = tmp_path / "repo"
    for package in ("one", "two"):
        (repo / package).mkdir(parents=True)
        (repo / package / "__init__.py").write_text(f"Y = 1  # {package}\n")
        for i in range(4):
            (repo / package / f"plain{i}.py").write_text(f"X = {i}  # {package}\n")
    (repo / "call.py").write_text('from celery import Celery\nCelery().send_task("a.b")\n')
    init_repo(in_dir(repo))
    cold = _json()
    assert _json() == cold
    (database,) = private_cache.glob("cache-*.sqlite")
    db = sqlite3.connect(database)
    ((folder, variant, digests),) = db.execute("SELECT folder, variant, digests FROM plain")
    modules, inits = _entries(digests)
    assert len(modules) == 8 and len(inits) == 2
    for tail in (b"", b"x", b"\1" * BLOB_ID_SIZE, b"\2" * BLOB_ID_SIZE + INIT + b"\3" * 7):
        forged = digests + tail
        db.execute(
            "UPDATE plain SET digests = ?, checksum = ?",
            (forged, _checksum(folder, variant, forged)),
        )
        db.commit()
        cache = Cache(database)
        try:
            cache.load([os.path.realpath(repo)], DEFAULT_MAX_FILE_SIZE)
            assert cache.plain_blobs() == _entries(forged)
        finally:
            cache.close()
        assert _json() == cold
    db.close()
