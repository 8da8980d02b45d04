"""A cache of per-file scans, so that a warm `fix --check` re-parses only what changed.

A scan depends on the file's content, the tool version, the Python version, the working directory
(paths are shown relative to it) and the settings that shape a scan (source roots, size limit):
those make the database's name, the content the row. A
row is trusted on size and modification time when the file was not modified within two seconds of
the row being written (the same "racy" rule git uses); otherwise the content is hashed and
compared. Nothing that depends on other files is cached: the index, constants and plans are
rebuilt from the scans on every run, so editing an imported constant is always seen.

The cache lives under `$XDG_CACHE_HOME/celery-codemod` (or `~/.cache/celery-codemod`), never in
the scanned tree.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import sqlite3
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from codemods import __version__
from codemods.scan import FileScan, content_digest

RACY_NS = 2_000_000_000


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(Path.home(), ".cache")
    return Path(base) / "celery-codemod"


@dataclass(frozen=True)
class Stat:
    size: int
    mtime_ns: int


class ScanCache:
    """Scans by absolute path, valid for one combination of tool, Python and scan settings."""

    def __init__(self, folder: Path, source_roots: Sequence[Path], max_size: int) -> None:
        # Scans hold paths as shown from the working directory: it is part of the key.
        roots = sorted(str(r.resolve()) for r in source_roots)
        key = repr((__version__, sys.version_info[:2], os.getcwd(), roots, max_size))
        name = f"scans-{hashlib.blake2b(key.encode(), digest_size=8).hexdigest()}.sqlite"
        folder.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(folder / name, timeout=30, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS scans (path TEXT PRIMARY KEY, size INTEGER, "
            "mtime_ns INTEGER, written_ns INTEGER, digest BLOB, payload BLOB)"
        )
        self._rows = {
            row[0]: row[1:]
            for row in self._db.execute(
                "SELECT path, size, mtime_ns, written_ns, digest, payload FROM scans"
            )
        }
        self._pending: list[tuple[str, int, int, int, bytes, bytes]] = []

    def get(self, path: Path, stat: Stat) -> FileScan | None:
        """The cached scan of the file as it is now, or None."""
        key = str(path.resolve())
        row = self._rows.get(key)
        if row is None or row[0] != stat.size:
            return None
        size, mtime_ns, written_ns, stored_digest, payload = row
        if mtime_ns != stat.mtime_ns or mtime_ns >= written_ns - RACY_NS:
            try:
                current = content_digest(path.read_bytes())
            except OSError:
                return None
            if current != stored_digest:
                return None
            self._pending.append((key, size, stat.mtime_ns, time.time_ns(), stored_digest, payload))
        scan: FileScan = pickle.loads(payload)
        return scan

    def put(self, path: Path, stat: Stat, scan: FileScan) -> None:
        if not scan.digest:
            return  # the file could not be read: nothing to remember
        payload = pickle.dumps(scan, protocol=pickle.HIGHEST_PROTOCOL)
        key = str(path.resolve())
        self._pending.append((key, stat.size, stat.mtime_ns, time.time_ns(), scan.digest, payload))

    def save(self) -> None:
        if self._pending:
            with self._db:
                self._db.execute("BEGIN")
                self._db.executemany(
                    "INSERT OR REPLACE INTO scans VALUES (?, ?, ?, ?, ?, ?)", self._pending
                )
            self._pending.clear()
        self._db.close()


def stat_of(path: Path) -> Stat | None:
    try:
        result = path.stat()
    except OSError:
        return None
    return Stat(result.st_size, result.st_mtime_ns)
