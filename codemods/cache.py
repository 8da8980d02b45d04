"""The cache that makes a warm `fix --check` re-parse only what changed.

One SQLite database per repository (named after the repository's resolved top folder, or the
current folder outside git), under `$XDG_CACHE_HOME/celery-codemod`, never in the scanned tree.
Rows hold plain values and JSON made by `serial.py`: nothing in the cache can run code, and a row
that does not decode into well-typed records, or whose checksum does not match, is a miss.

- `files`: per path, the content digest (git's blob id) and whether the content holds a hint.
  The digest is the truth. Git's index vouches for tracked files it sees unchanged; for others
  (size, mtime, ctime, inode) from one lstat are a fast path, trusted only when the mtime is
  neither racy (within two seconds of when the row was written, git's rule) nor suspicious
  (normalised to the epoch, as Nix and `SOURCE_DATE_EPOCH` builds do, or in the future).
- `scans`: per path and the scan's inputs (module name, is_package, size limit), the scan, and
  apart from it the module's bindings (its names), decoded only when a name leads into it, and
  its call sites, decoded only for the files a run plans (a run naming a few files needs only
  the names the other files' calls look up, kept apart too).
- `edits`: per path, the statements an edit rewrote, keyed on the content and the plan. They are
  verified again, statement by statement, before they are used.

Every key also holds the build: a fingerprint of the record definitions and of the tool's code,
so a cache written by another version is never read. Rows whose path is gone from a folder the
run listed are dropped, rows unused for 30 days expire, and so do other databases.

Nothing that depends on other files is cached: the index, constants and plans are rebuilt from
the scans on every run, so editing an imported constant is always seen.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import sys
import time
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path

from codemods.discovery import Stat, key_maker
from codemods.model import (
    Alternatives,
    BindingStep,
    Concat,
    DictExpr,
    FileScan,
    Ref,
    ScannedCalls,
    StatementEdits,
    ValueExpr,
)
from codemods.serial import Codec, DecodeError, EncodeError, json_string

RACY_NS = 2_000_000_000
# Earlier modification times are normalised ones (Nix sets 1 s), never real edits.
SUSPICIOUS_BEFORE_NS = 86_400 * 366 * 1_000_000_000
EXPIRE_DAYS = 30
DAY_S = 86_400
SCHEMA = (
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT) WITHOUT ROWID",
    "CREATE TABLE IF NOT EXISTS files (path BLOB PRIMARY KEY, size INTEGER, mtime_ns INTEGER, "
    "ctime_ns INTEGER, inode INTEGER, checked_ns INTEGER, digest BLOB, plain INTEGER, "
    "used INTEGER, checksum BLOB) WITHOUT ROWID",
    "CREATE TABLE IF NOT EXISTS scans (path BLOB, variant BLOB, digest BLOB, payload BLOB, "
    "bindings BLOB, calls BLOB, refs BLOB, used INTEGER, checksum BLOB, "
    "PRIMARY KEY (path, variant)) WITHOUT ROWID",
    "CREATE TABLE IF NOT EXISTS edits (path BLOB PRIMARY KEY, key BLOB, payload BLOB, "
    "used INTEGER, checksum BLOB) WITHOUT ROWID",
    "CREATE TABLE IF NOT EXISTS plain (folder BLOB, variant BLOB, digests BLOB, used INTEGER, "
    "checksum BLOB, PRIMARY KEY (folder, variant)) WITHOUT ROWID",
)
TABLES = ("files", "scans", "edits", "plain")
PATH_TABLES = ("files", "scans", "edits")
# A `plain` row: the blob ids of a folder's files that git vouches for and that hold no hint,
# each followed by one byte: whether the file is a package `__init__` (which an import makes
# worth parsing).
BLOB_ID_SIZE = 20
INIT, MODULE = b"i", b"m"
# A file's (module name, is_package), computed only when needed: plain files never need it.
Modules = Callable[[], tuple[str, bool]]


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(Path.home(), ".cache")
    return Path(base) / "celery-codemod"


@dataclass(frozen=True, slots=True)
class ModuleBindings:
    """A module's bindings, stored apart from the rest of its scan."""

    steps: tuple[BindingStep, ...]


@dataclass(frozen=True, slots=True)
class CallReferences:
    """The names a file's call sites look up (their task names and options that are not
    literal, in site order), stored apart from the sites."""

    exprs: tuple[ValueExpr, ...]


def call_references(calls: ScannedCalls) -> tuple[ValueExpr, ...]:
    """What looking up a file's call sites' values reads: a literal looks up nothing."""
    looked_up = (Ref, Concat, DictExpr, Alternatives)
    return tuple(
        value
        for site in calls.sites
        for value in (site.task, *site.given.values())
        if isinstance(value, looked_up)
    )


@cache
def scan_codec() -> Codec[FileScan]:
    return Codec(FileScan)


@cache
def bindings_codec() -> Codec[ModuleBindings]:
    return Codec(ModuleBindings)


@cache
def calls_codec() -> Codec[ScannedCalls]:
    return Codec(ScannedCalls)


@cache
def references_codec() -> Codec[CallReferences]:
    return Codec(CallReferences)


@cache
def edit_codec() -> Codec[StatementEdits]:
    return Codec(StatementEdits)


@cache
def build_key() -> str:
    """Changes with any record definition, the tool's code or the Python version."""
    digest = hashlib.blake2b(digest_size=12)
    codecs = (scan_codec(), bindings_codec(), calls_codec(), references_codec(), edit_codec())
    digest.update(" ".join(codec.fingerprint for codec in codecs).encode())
    digest.update(repr(sys.version_info[:2]).encode())
    package = os.path.dirname(os.path.abspath(__file__))
    for name in sorted(os.listdir(package)):
        if name.endswith(".py"):
            with open(os.path.join(package, name), "rb") as source:
                digest.update(name.encode() + b"\0" + source.read())
    return digest.hexdigest()


def database_path(folder: Path, anchor: str) -> Path:
    """The database of the repository holding `anchor` (a folder), or of `anchor` outside git."""
    from codemods.discovery import repository_top

    real = os.path.realpath(anchor)
    top = repository_top(real) or real
    label = "".join(c if c.isalnum() else "-" for c in os.path.basename(top))[:40] or "root"
    key = hashlib.blake2b(os.fsencode(top), digest_size=8).hexdigest()
    return folder / f"cache-{label}-{key}.sqlite"


def open_cache(folder: Path, anchor: str = ".") -> Cache | None:
    """The cache of this repository, or None (the run goes on without it) when it cannot be used."""
    try:
        return Cache(database_path(folder, anchor))
    except (sqlite3.Error, OSError, TypeError, EncodeError) as error:
        print(f"celery-codemod: cache not used ({folder}: {error})", file=sys.stderr)
        return None


def _checksum(*parts: bytes | int) -> bytes:
    """A row's checksum; b"" (which matches none) for values of the wrong type."""
    digest = hashlib.blake2b(digest_size=8)
    for part in parts:
        if type(part) is int and -(2**63) <= part < 2**63:
            part = part.to_bytes(8, "little", signed=True)
        if type(part) is not bytes:
            return b""
        digest.update(len(part).to_bytes(8, "little") + part)
    return digest.digest()


def _file_checksum(key: bytes, digest: bytes, plain: int, size: int) -> bytes:
    """A files row's checksum: CRC-32 is enough against damage, and a warm run checks one per
    file (a forged row can only make a file be read again or hide it, never change a write)."""
    return zlib.crc32(b"%b\0%b\0%d\0%d" % (key, digest, plain, size)).to_bytes(4, "little")


def _variant(module: str, is_package: bool, max_size: int) -> bytes:
    text = f"{module}\0{int(is_package)}\0{max_size}"
    return text.encode("utf-8", "surrogateescape")


def _is_init(path: str) -> bool:
    return path == "__init__.py" or path.endswith("/__init__.py")


def _folder_key(folder: str) -> bytes:
    return os.fsencode(folder.rstrip(os.sep) + os.sep)


def _ancestors(start: bytes) -> list[bytes]:
    """The folder keys above a folder key (`/a/b/` -> `/a/`, `/`)."""
    found = []
    while start.count(b"/") > 1:
        start = start[: start.rstrip(b"/").rfind(b"/") + 1]
        found.append(start)
    return found


class _StoredBindings:
    """A cached module's bindings, decoded when a name first leads into the module. Bindings
    that do not decode are read again from the file, as any other cache miss is."""

    __slots__ = ("data", "display", "max_size", "module")

    def __init__(self, data: bytes, display: str, module: str, max_size: int) -> None:
        self.data = data
        self.display = display
        self.module = module
        self.max_size = max_size

    def mentions(self, name: str) -> bool:
        """False only when no binding can bind `name`: a name bound is in the JSON as a string."""
        return json_string(name) in self.data

    def load(self) -> tuple[BindingStep, ...]:
        try:
            return bindings_codec().decode(self.data).steps
        except DecodeError:
            from codemods.scan import scan_file

            scan = scan_file(
                Path(self.display),
                module=self.module,
                is_package=_is_init(self.display),
                max_size=self.max_size,
                force=True,
            )
            return scan.facts.bindings if scan.facts is not None else ()


# A scans row: (digest, payload, bindings, calls, refs, used, checksum).
_ScanRow = tuple[bytes, bytes, bytes, bytes, bytes, int, bytes]
# The types of a row's columns, path and variant first.
_SCAN_ROW_KINDS = [bytes, bytes, bytes, bytes, bytes, bytes, bytes, int, bytes]


@dataclass
class _FileRow:
    size: int
    mtime_ns: int
    ctime_ns: int
    inode: int
    checked_ns: int
    digest: bytes
    plain: bool
    used: int
    checksum: bytes

    def valid(self, key: bytes) -> bool:
        return self.checksum == _file_checksum(key, self.digest, int(self.plain), self.size)


class Cache:
    """Scans and verified edits of one repository's files, for one build of the tool."""

    def __init__(self, database: Path) -> None:
        self.path = database
        self.today = int(time.time() // DAY_S)
        database.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(database, timeout=30, isolation_level=None)
        try:
            self._open()
        except BaseException:
            self._db.close()
            raise
        self._files: dict[bytes, _FileRow] = {}
        # path -> variant -> (digest, payload, bindings, calls, refs, used, checksum)
        self._scans: dict[bytes, dict[bytes, _ScanRow]] = {}
        self._apart: dict[str, _StoredBindings] = {}  # by display path, of the scans returned
        # By display path, of the scans returned without their calls: what the calls look up.
        self._references: dict[str, tuple[ValueExpr, ...]] = {}
        self._loaded: list[tuple[bytes, bytes]] = []  # (start, end) of the path ranges loaded
        self._seen: set[bytes] = set()
        self._read_alone: set[bytes] = set()  # scans rows of files outside the folders loaded
        self._used_scans: dict[bytes, set[bytes]] = {}
        self._put_files: dict[bytes, tuple[object, ...]] = {}
        self._put_scans: list[tuple[object, ...]] = []
        self._put_edits: list[tuple[object, ...]] = []
        self._touched: set[tuple[str, bytes, bytes | None]] = set()
        self._broken = False
        # Blob ids of plain files (module files, package `__init__` files), from the `plain`
        # rows of the folders listed, those above and those below them.
        self._plain: tuple[set[bytes], set[bytes]] = (set(), set())
        self._plain_variant = b""
        self._plain_rows: dict[bytes, tuple[set[bytes], set[bytes]]] = {}  # of folders listed
        self._plain_used: set[bytes] = set()  # rows to mark used today
        # The plain files found in those rows: their paths, and the blob id of each path.
        self._plain_found: list[tuple[Sequence[str], Mapping[str, bytes]]] = []
        self._plain_keys: list[tuple[bytes, bytes, bool]] = []  # (key, ...) of new plain files

    def _open(self) -> None:
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(SCHEMA[0])
        meta = dict(self._db.execute("SELECT key, value FROM meta").fetchall())
        build = build_key()
        if meta.get("build") != build:  # another build's tables, whatever their columns
            with self._db:
                self._db.execute("BEGIN")
                for table in TABLES:
                    self._db.execute(f"DROP TABLE IF EXISTS {table}")
                self._db.execute("DELETE FROM meta")
                self._db.execute("INSERT INTO meta VALUES ('build', ?)", (build,))
            meta = {"build": build}
        for statement in SCHEMA[1:]:
            self._db.execute(statement)
        if meta.get("expired") != str(self.today):
            self._expire()

    def _expire(self) -> None:
        oldest = self.today - EXPIRE_DAYS
        with self._db:
            self._db.execute("BEGIN")
            for table in TABLES:
                self._db.execute(f"DELETE FROM {table} WHERE used < ?", (oldest,))
            self._db.execute(
                "INSERT OR REPLACE INTO meta VALUES ('expired', ?)", (str(self.today),)
            )
        cutoff = time.time() - EXPIRE_DAYS * DAY_S
        for other in self.path.parent.glob("cache-*.sqlite*"):
            try:
                if other.name.startswith(self.path.name):
                    continue
                if other.stat().st_mtime < cutoff:
                    other.unlink()
            except OSError:
                continue

    # -- reading ---------------------------------------------------------------------------------

    def load(self, folders: Sequence[str], max_size: int) -> None:
        """Read the rows of every file under these (resolved) folders: one range query each,
        and the plain blob ids of these folders, of those above and of those below them."""
        self._plain_variant = b"%d" % max_size
        for folder in _outermost(folders):
            start = _folder_key(folder)
            end = start[:-1] + bytes([start[-1] + 1])
            if self._in_loaded(start):
                continue  # read already (a second pass over the same files)
            self._loaded.append((start, end))
            self._read_files("path >= ? AND path < ?", (start, end))
            self._read_scans("path >= ? AND path < ?", (start, end))
            self._read_plain(start, end)

    def _read_plain(self, start: bytes, end: bytes) -> None:
        if self._broken:
            return
        above = _ancestors(start)
        marks = ", ".join("?" * len(above)) or "NULL"
        try:
            rows = self._db.execute(
                "SELECT folder, digests, used, checksum FROM plain WHERE variant = ? AND "
                f"((folder >= ? AND folder < ?) OR folder IN ({marks}))",
                (self._plain_variant, start, end, *above),
            ).fetchall()
        except sqlite3.Error as error:
            self._give_up(error)
            return
        for folder, digests, used, checksum in rows:
            if [type(v) for v in (folder, digests, used, checksum)] != [bytes, bytes, int, bytes]:
                continue  # damaged
            if checksum != _checksum(folder, self._plain_variant, digests):
                continue
            step = BLOB_ID_SIZE + 1
            count = len(digests) // step
            ids = [digests[at : at + BLOB_ID_SIZE] for at in range(0, count * step, step)]
            marks = digests[BLOB_ID_SIZE : count * step : step]  # the byte after each blob id
            init = INIT[0]
            modules = {i for i, mark in zip(ids, marks, strict=True) if mark != init}
            inits = {i for i, mark in zip(ids, marks, strict=True) if mark == init}
            self._plain[0].update(modules)
            self._plain[1].update(inits)
            if folder == start:
                self._plain_rows[folder] = (modules, inits)
            if used < self.today:
                self._plain_used.add(folder)

    def plain_blobs(self) -> tuple[set[bytes], set[bytes]]:
        """The blob ids of module files and of package `__init__` files known to hold no hint:
        a file git vouches for whose blob id is among them needs no row of its own."""
        return self._plain

    def found_plain(self, paths: Sequence[str], blob_ids: Mapping[str, bytes]) -> None:
        """These files (with these blob ids) were taken as plain from `plain_blobs()`."""
        self._plain_found.append((paths, blob_ids))

    def _plain_seen(self) -> list[tuple[str, bytes, bool]]:
        return [(p, ids[p], _is_init(p)) for paths, ids in self._plain_found for p in paths]

    def _give_up(self, error: Exception) -> None:
        """A database that cannot be read is not used for the rest of the run (nor written)."""
        if not self._broken:
            print(f"celery-codemod: cache not used ({self.path}: {error})", file=sys.stderr)
        self._broken = True
        self._files.clear()
        self._scans.clear()

    def _in_loaded(self, key: bytes) -> bool:
        return any(start <= key < end for start, end in self._loaded)

    def _read_files(self, where: str, arguments: tuple[bytes, ...]) -> None:
        if self._broken:
            return
        try:
            self._read_files_rows(where, arguments)
        except (sqlite3.Error, TypeError, ValueError) as error:
            self._give_up(error)

    def _read_files_rows(self, where: str, arguments: tuple[bytes, ...]) -> None:
        rows = self._db.execute(
            "SELECT path, size, mtime_ns, ctime_ns, inode, checked_ns, digest, plain, used, "
            f"checksum FROM files WHERE {where}",
            arguments,
        )
        for path, *values in rows:
            kinds = [type(v) for v in values]
            if kinds != [int, int, int, int, int, bytes, int, int, bytes]:
                continue  # damaged
            self._files[path] = _FileRow(*values)

    def _read_scans(self, where: str, arguments: tuple[bytes, ...]) -> None:
        if self._broken:
            return
        try:
            self._read_scans_rows(where, arguments)
        except (sqlite3.Error, TypeError, ValueError) as error:
            self._give_up(error)

    def _read_scans_rows(self, where: str, arguments: tuple[bytes, ...]) -> None:
        rows = self._db.execute(
            "SELECT path, variant, digest, payload, bindings, calls, refs, used, checksum "
            f"FROM scans WHERE {where}",
            arguments,
        )
        for path, variant, *values in rows:
            kinds = [type(path), type(variant), *map(type, values)]
            if kinds != _SCAN_ROW_KINDS:
                continue  # damaged
            self._scans.setdefault(path, {})[variant] = tuple(values)

    def _row(self, key: bytes) -> _FileRow | None:
        if key not in self._files and not self._in_loaded(key) and key not in self._seen:
            self._read_files("path = ?", (key,))
            self._read_scans("path = ?", (key,))
        self._seen.add(key)
        return self._files.get(key)

    def digest(self, key: bytes, current: Stat) -> bytes | None:
        """The content digest remembered for this path, when its lstat proves it unchanged."""
        row = self._row(key)
        if row is None or (row.size, row.mtime_ns, row.ctime_ns, row.inode) != current:
            return None
        mtime = current[1]
        racy = mtime >= row.checked_ns - RACY_NS
        suspicious = mtime < SUSPICIOUS_BEFORE_NS or mtime > time.time_ns() + RACY_NS
        return None if racy or suspicious else row.digest

    def scan(
        self,
        key: bytes,
        display: str,
        digest: bytes,
        module: Modules,
        max_size: int,
        *,
        vouched: bool = False,
        any_name: bool = False,
        calls: bool = True,
    ) -> FileScan | None:
        """The cached scan of the content `digest` at this path, or None. A file git vouches
        for has no files row: its digest is the blob id. With `any_name`, a scan made under
        another module name may be returned (the caller checks the name). The module's
        bindings are left out of its facts (`bindings_apart`): `bindings_apart()` has them.
        Without `calls`, call sites are left out too (`calls_apart`): `call_references()` has
        the names they look up."""
        if vouched:
            if not self._in_loaded(key) and key not in self._read_alone:
                self._read_scans("path = ?", (key,))
            self._read_alone.add(key)
        else:
            row = self._row(key)
            if row is None or row.digest != digest or not row.valid(key):
                return None
            if row.used < self.today:
                self._touched.add(("files", key, None))
            if row.plain and row.size <= max_size:
                return FileScan(display, digest=digest)
        variants = self._scans.get(key, {})
        if any_name and len(variants) == 1:
            ((variant, stored),) = variants.items()
            if not variant.endswith(b"\0%d\0%d" % (_is_init(display), max_size)):
                return None
        else:
            name, is_package = module()
            variant = _variant(name, is_package, max_size)
            found = variants.get(variant)
            if found is None:
                return None
            stored = found
        self._used_scans.setdefault(key, set()).add(variant)
        stored_digest, payload, bindings, sites, refs, used, checksum = stored
        if stored_digest != digest or checksum != _checksum(
            key, variant, digest, payload, bindings, sites, refs
        ):
            return None
        try:
            scan = scan_codec().decode(payload, own_path=display)
            if scan.calls_apart != bool(sites) or (scan.calls is not None and scan.calls_apart):
                return None
            references: tuple[ValueExpr, ...] = ()
            if not scan.calls_apart:
                if refs:
                    return None
            elif calls:
                found_calls = calls_codec().decode(sites, own_path=display)
                if not found_calls.sites:
                    return None
                scan = replace(scan, calls=found_calls, calls_apart=False)
            else:
                references = references_codec().decode(refs, own_path=display).exprs
        except DecodeError:
            return None
        if scan.digest != digest or scan.display != display:
            return None
        facts = scan.facts
        if facts is None:
            if bindings:
                return None
        elif facts.bindings or not facts.bindings_apart or facts.path != display:
            return None
        else:
            self._apart[display] = _StoredBindings(bindings, display, facts.module, max_size)
        if scan.calls_apart:
            self._references[display] = references
        self._touch("scans", key, variant, used)
        return scan

    def bindings_apart(self) -> Mapping[str, _StoredBindings]:
        """The bindings of the modules `scan()` returned, by path, each decoded when needed."""
        return self._apart

    def call_references(self) -> Mapping[str, tuple[ValueExpr, ...]]:
        """By path, what the call sites of the scans `scan()` returned without them look up."""
        return self._references

    def _touch(self, table: str, key: bytes, variant: bytes | None, used: int) -> None:
        if used < self.today:
            self._touched.add((table, key, variant))

    def edit(self, key: bytes, edit_key: bytes) -> StatementEdits | None:
        """The statements an edit with this key rewrote before (to be verified again), or None."""
        payload = self._edit_payload(key, edit_key)
        if payload is None:
            return None
        try:
            return edit_codec().decode(payload)
        except DecodeError:
            return None

    def has_edit(self, key: bytes, edit_key: bytes) -> bool:
        """Whether an edit with this key was made in full before (its row is whole)."""
        return self._edit_payload(key, edit_key) is not None

    def _edit_payload(self, key: bytes, edit_key: bytes) -> bytes | None:
        if self._broken:
            return None
        try:
            row = self._db.execute(
                "SELECT key, payload, used, checksum FROM edits WHERE path = ?", (key,)
            ).fetchone()
        except sqlite3.Error as error:
            self._give_up(error)
            return None
        if (
            row is None
            or [type(v) for v in row] != [bytes, bytes, int, bytes]
            or row[0] != edit_key
            or row[3] != _checksum(key, row[0], row[1])
        ):
            return None
        self._touch("edits", key, None, row[2])
        payload: bytes = row[1]
        return payload

    # -- writing ---------------------------------------------------------------------------------

    def put_scan(
        self, key: bytes, stat: Stat | None, scan: FileScan, module: Modules, max_size: int
    ) -> None:
        """Remember a scan; `stat` was taken before the file was read, None for a file git
        vouches for (its blob id is the digest of what was scanned)."""
        if not scan.digest:
            return  # the file could not be read: nothing to remember
        # Not parsed (no hint): nothing but the digest, whatever the module's name.
        plain = scan == FileScan(scan.display, digest=scan.digest)
        if stat is None:
            if plain:
                self._plain_keys.append((key, scan.digest, _is_init(scan.display)))
                return
        else:
            size, mtime_ns, ctime_ns, inode = stat
            self._put_files[key] = (
                key, size, mtime_ns, ctime_ns, inode, time.time_ns(), scan.digest, int(plain),
                self.today, _file_checksum(key, scan.digest, int(plain), size),
            )  # fmt: skip
            if plain:
                return
        name, is_package = module()
        variant = _variant(name, is_package, max_size)
        self._used_scans.setdefault(key, set()).add(variant)
        facts = scan.facts
        if (facts is not None and facts.bindings_apart) or scan.calls_apart:
            return  # read from the cache: its bindings (or calls) are not in it
        try:
            bindings = sites = refs = b""
            if facts is not None:  # the bindings apart: most runs need few modules' names
                bindings = bindings_codec().encode(ModuleBindings(facts.bindings))
                scan = replace(scan, facts=replace(facts, bindings=(), bindings_apart=True))
            if scan.calls is not None and scan.calls.sites:  # planned only for the files named
                sites = calls_codec().encode(scan.calls, own_path=scan.display)
                found = CallReferences(call_references(scan.calls))
                refs = references_codec().encode(found, own_path=scan.display)
                scan = replace(scan, calls=None, calls_apart=True)
            payload = scan_codec().encode(scan, own_path=scan.display)
        except EncodeError:
            return
        self._put_scans.append(
            (key, variant, scan.digest, payload, bindings, sites, refs, self.today,
             _checksum(key, variant, scan.digest, payload, bindings, sites, refs))
        )  # fmt: skip

    def put_edit(self, key: bytes, edit_key: bytes, edits: StatementEdits) -> None:
        try:
            payload = edit_codec().encode(edits)
        except EncodeError:
            return
        self._put_edits.append(
            (key, edit_key, payload, self.today, _checksum(key, edit_key, payload))
        )

    def save(self) -> None:
        """Write what this run learnt and drop rows of files gone from the folders listed (every
        file of the run was looked up). A cache that cannot be written only slows the next run."""
        gone = [k for k in self._files if k not in self._seen and self._in_loaded(k)]
        # A file git vouches for has no files row (and one that holds no hint, no scans row).
        gone_scans = [k for k in self._scans if k not in self._used_scans and self._in_loaded(k)]
        stale = [
            (k, v)
            for k, variants in self._scans.items()
            for v in variants
            if k in self._used_scans and v not in self._used_scans[k]
        ]
        plain = self._plain_changes()
        work = gone or stale or gone_scans or self._put_files or self._put_scans or self._put_edits
        try:
            if (work or plain or self._touched or self._plain_used) and not self._broken:
                with self._db:
                    self._db.execute("BEGIN")
                    self._write(gone + gone_scans, stale, plain)
        except (sqlite3.Error, OverflowError) as error:
            print(f"celery-codemod: cache not saved ({self.path}: {error})", file=sys.stderr)
        finally:
            self.close()

    def _plain_changes(self) -> dict[bytes, bytes]:
        """The `plain` rows of the folders listed, where they differ from what was read."""
        if len(self._loaded) == 1 and not self._plain_keys:
            row = self._plain_rows.get(self._loaded[0][0])
            hits: tuple[set[bytes], set[bytes]] = (set(), set())
            for paths, ids in self._plain_found:
                for path in paths:
                    hits[path[-12:] == "/__init__.py" or path == "__init__.py"].add(ids[path])
            if row is not None and row == hits:
                return {}  # the usual warm run: every plain file found in its folder's row
        seen = self._plain_seen()
        if not self._plain_keys and not seen and not self._plain_rows:
            return {}
        to_key = key_maker()
        entries = [(to_key(path), digest, init) for path, digest, init in seen]
        entries += self._plain_keys
        changed = {}
        for start, end in self._loaded:
            found = sorted({d + (INIT if i else MODULE) for k, d, i in entries if start <= k < end})
            row = (
                {e[:BLOB_ID_SIZE] for e in found if e[BLOB_ID_SIZE:] == MODULE},
                {e[:BLOB_ID_SIZE] for e in found if e[BLOB_ID_SIZE:] == INIT},
            )
            if found and self._plain_rows.get(start) != row:
                changed[start] = b"".join(e for e in found if len(e) == BLOB_ID_SIZE + 1)
            elif not found and start in self._plain_rows:
                changed[start] = b""
        return changed

    def _write(
        self, gone: list[bytes], stale: list[tuple[bytes, bytes]], plain: dict[bytes, bytes]
    ) -> None:
        db = self._db
        for table in PATH_TABLES:
            db.executemany(f"DELETE FROM {table} WHERE path = ?", [(k,) for k in gone])
        size = self._plain_variant
        for folder, digests in plain.items():
            if digests:
                db.execute(
                    "INSERT OR REPLACE INTO plain VALUES (?, ?, ?, ?, ?)",
                    (folder, size, digests, self.today, _checksum(folder, size, digests)),
                )
            else:
                db.execute("DELETE FROM plain WHERE folder = ? AND variant = ?", (folder, size))
        db.executemany(
            "UPDATE plain SET used = ? WHERE folder = ? AND variant = ?",
            [(self.today, folder, size) for folder in self._plain_used if folder not in plain],
        )
        db.executemany("DELETE FROM scans WHERE path = ? AND variant = ?", stale)
        if self._put_files:
            db.executemany(
                "INSERT OR REPLACE INTO files VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                self._put_files.values(),
            )
        if self._put_scans:
            db.executemany(
                "INSERT OR REPLACE INTO scans VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", self._put_scans
            )
        if self._put_edits:
            db.executemany("INSERT OR REPLACE INTO edits VALUES (?, ?, ?, ?, ?)", self._put_edits)
        for table, key, variant in self._touched:
            if variant is None:
                db.execute(f"UPDATE {table} SET used = ? WHERE path = ?", (self.today, key))
            else:
                db.execute(
                    "UPDATE scans SET used = ? WHERE path = ? AND variant = ?",
                    (self.today, key, variant),
                )

    def close(self) -> None:
        self._db.close()


def _outermost(folders: Sequence[str]) -> list[str]:
    """The folders, without those inside another one of them."""
    kept: list[str] = []
    for folder in sorted(set(folders)):
        if not any((folder + os.sep).startswith(k.rstrip(os.sep) + os.sep) for k in kept):
            kept.append(folder)
    return kept


# -- cache info / cache clean -------------------------------------------------------------------


def info(folder: Path, anchor: str = ".") -> dict[str, object]:
    """What `cache info` shows: this repository's database, its rows and size, and the others."""
    database = database_path(folder, anchor)
    rows: dict[str, int] = {}
    if database.exists():
        try:
            db = sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=30)
            try:
                for table in TABLES:
                    rows[table] = db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
            finally:
                db.close()
        except sqlite3.Error as error:
            rows = {}
            print(f"celery-codemod: cannot read {database}: {error}", file=sys.stderr)
    others = [p for p in _databases(folder) if p.name != database.name]
    return {
        "folder": str(folder),
        "database": str(database),
        "exists": database.exists(),
        "rows": rows,
        "bytes": _size(database),
        "other_databases": len(others),
        "other_bytes": sum(_size(p) for p in others),
    }


def clean(folder: Path, anchor: str = ".", everything: bool = False) -> list[Path]:
    """Delete this repository's database (every database with `everything`); the paths removed."""
    database = database_path(folder, anchor)
    removed = []
    for path in _databases(folder):
        if everything or path.name == database.name:
            for companion in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
                try:
                    companion.unlink()
                except FileNotFoundError:
                    continue
                if companion == path:
                    removed.append(path)
    return removed


def _databases(folder: Path) -> list[Path]:
    try:
        return sorted(folder.glob("cache-*.sqlite"))
    except OSError:
        return []


def _size(database: Path) -> int:
    total = 0
    for companion in (database, Path(f"{database}-wal")):
        try:
            total += companion.stat().st_size
        except OSError:
            continue
    return total
