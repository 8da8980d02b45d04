"""Caches that make a warm `fix --check` re-parse only what changed.

Scans: a scan depends on the file's content, the tool version, the Python version, the working
directory (paths are shown relative to it) and the settings that shape a scan (source roots, size
limit): those make the database's name, the file its row. A row is trusted on size and
modification time when the file was not modified within two seconds of the row being written
(the "racy" rule git uses); otherwise the content is hashed and compared.

Edits: the result of a planned edit (the new text, or why it did not verify) is keyed on the file's
content and the plan, so a run that plans the same edit again does not run libcst again.

Nothing that depends on other files is cached: the index, constants and plans are rebuilt from
the scans on every run, so editing an imported constant is always seen. The caches live under
`$XDG_CACHE_HOME/celery-codemod` (or `~/.cache/celery-codemod`), never in the scanned tree.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import sqlite3
import sys
import time
from collections.abc import Sequence
from contextlib import suppress
from pathlib import Path

from codemods import __version__
from codemods.files import content_digest
from codemods.model import FileScan

RACY_NS = 2_000_000_000
SCHEMA = (
    "CREATE TABLE IF NOT EXISTS scans (path TEXT PRIMARY KEY, size INTEGER, mtime_ns INTEGER, "
    "written_ns INTEGER, digest BLOB, display TEXT, payload BLOB)",
    "CREATE TABLE IF NOT EXISTS edits (key BLOB PRIMARY KEY, new_source TEXT, problem TEXT)",
)


def open_cache(folder: Path, source_roots: Sequence[Path], max_size: int) -> Cache | None:
    """The cache in `folder`, or None (the run goes on without it) when it cannot be used."""
    try:
        return Cache(folder, source_roots, max_size)
    except (sqlite3.Error, OSError) as error:
        print(f"celery-codemod: cache not used ({folder}: {error})", file=sys.stderr)
        return None


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(Path.home(), ".cache")
    return Path(base) / "celery-codemod"


class Cache:
    """Scans by path and edit results by (content, plan), for one tool, Python and setting."""

    def __init__(self, folder: Path, source_roots: Sequence[Path], max_size: int) -> None:
        roots = sorted(str(r.resolve()) for r in source_roots)
        key = repr((__version__, sys.version_info[:2], os.getcwd(), roots, max_size))
        name = f"cache-{hashlib.blake2b(key.encode(), digest_size=8).hexdigest()}.sqlite"
        folder.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(folder / name, timeout=30, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        for statement in SCHEMA:
            self._db.execute(statement)
        self._rows = {
            row[0]: row[1:]
            for row in self._db.execute(
                "SELECT path, size, mtime_ns, written_ns, digest, display, payload FROM scans"
            )
        }
        self._scans: list[tuple[object, ...]] = []
        self._edits: list[tuple[bytes, str | None, str | None]] = []

    def scan(self, path: Path, size: int, mtime_ns: int) -> FileScan | None:
        """The cached scan of the file as it is now, or None."""
        key = str(path)
        row = self._rows.get(key)
        if row is None or row[0] != size:
            return None
        _, stored_mtime, written_ns, stored_digest, display, payload = row
        if stored_mtime != mtime_ns or stored_mtime >= written_ns - RACY_NS:
            try:
                if content_digest(path.read_bytes()) != stored_digest:
                    return None
            except OSError:
                return None
            self._scans.append(
                (key, size, mtime_ns, time.time_ns(), stored_digest, display, payload)
            )
        if payload is None:  # a file without hints: nothing but its digest to remember
            return FileScan(display, digest=stored_digest)
        try:
            scan = pickle.loads(payload)
        except Exception:
            return None
        return scan if isinstance(scan, FileScan) else None

    def put_scan(self, path: Path, size: int, mtime_ns: int, scan: FileScan) -> None:
        if not scan.digest:
            return  # the file could not be read: nothing to remember
        empty = scan.facts is None and scan.calls is None and scan.problem is None
        payload = None if empty else pickle.dumps(scan, protocol=pickle.HIGHEST_PROTOCOL)
        self._scans.append(
            (str(path), size, mtime_ns, time.time_ns(), scan.digest, scan.display, payload)
        )

    def edit(self, key: bytes) -> tuple[str | None, str | None] | None:
        """(new source, problem) of an edit made before, or None."""
        try:
            row = self._db.execute(
                "SELECT new_source, problem FROM edits WHERE key = ?", (key,)
            ).fetchone()
        except sqlite3.Error:
            return None
        return None if row is None else (row[0], row[1])

    def put_edit(self, key: bytes, new_source: str | None, problem: str | None) -> None:
        self._edits.append((key, new_source, problem))

    def save(self) -> None:
        """Write what this run learnt; a cache that cannot be written only slows the next run."""
        with suppress(sqlite3.Error), self._db:
            self._db.execute("BEGIN")
            if self._scans:
                self._db.executemany(
                    "INSERT OR REPLACE INTO scans VALUES (?, ?, ?, ?, ?, ?, ?)", self._scans
                )
            if self._edits:
                self._db.executemany("INSERT OR REPLACE INTO edits VALUES (?, ?, ?)", self._edits)
        self._scans.clear()
        self._edits.clear()
        self._db.close()
