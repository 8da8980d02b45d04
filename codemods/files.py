"""Reading and writing the user's files: decoding as Python does, atomic replacement that never
overwrites a save made meanwhile."""

from __future__ import annotations

import hashlib
import io
import os
import stat
import tokenize
from dataclasses import dataclass
from pathlib import Path

from codemods.exchange import ExchangeUnsupported, exchange
from codemods.model import Diagnostic, FileResult, Severity


@dataclass(frozen=True)
class FileStamp:
    """What changes when a file is written or replaced (as git's index compares)."""

    device: int
    inode: int
    size: int
    mtime_ns: int
    ctime_ns: int

    @classmethod
    def of(cls, info: os.stat_result) -> FileStamp:
        return cls(info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns)

    def same_file(self, info: os.stat_result) -> bool:
        """The same inode with the same content stamp; ctime aside (a rename or a link sets it)."""
        return (self.device, self.inode, self.size, self.mtime_ns) == (
            info.st_dev,
            info.st_ino,
            info.st_size,
            info.st_mtime_ns,
        )

    def unchanged(self, info: os.stat_result) -> bool:
        return self.same_file(info) and self.ctime_ns == info.st_ctime_ns


@dataclass(frozen=True)
class SourceFile:
    path: Path
    display: str
    data: bytes
    encoding: str
    text: str
    # The file's stamp when `data` was read from it (None when the data came from elsewhere).
    stamp: FileStamp | None = None


def content_digest(data: bytes) -> bytes:
    """Git's blob id of the content, so that git's index can vouch for unchanged files."""
    digest = hashlib.sha1(b"blob %d\0" % len(data), usedforsecurity=False)
    digest.update(data)
    return digest.digest()


def display_path(path: Path) -> str:
    return os.path.relpath(path).replace(os.sep, "/")


def read_source(path: Path, data: bytes | None = None) -> SourceFile | Diagnostic:
    """The file decoded as Python does (coding cookie, BOM); `data` when already read."""
    display = display_path(path)
    stamp = None
    try:
        if data is None:
            with open(path, "rb") as handle:
                data = handle.read()
                stamp = FileStamp.of(os.fstat(handle.fileno()))
    except OSError as error:
        reason = error.strerror or str(error)
        return Diagnostic(display, 1, "read-error", Severity.ERROR, f"cannot read: {reason}")
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
        text = data.decode(encoding)
    except (SyntaxError, LookupError, UnicodeDecodeError) as error:
        reason = str(error)
        if isinstance(error, SyntaxError) and "invalid or missing encoding" in reason:
            try:
                data.decode("utf-8")
            except UnicodeDecodeError as not_utf8:
                reason = f"not UTF-8 ({not_utf8}) and no coding declaration"
        return Diagnostic(display, 1, "parse-error", Severity.ERROR, f"cannot decode: {reason}")
    return SourceFile(path, display, data, encoding, text, stamp)


def read_unchanged(path: Path, digest: bytes) -> SourceFile | Diagnostic:
    """The file read again to be edited, or why it cannot be: unreadable, or no longer the
    content that was scanned (whose digest is `digest`)."""
    source = read_source(path)
    if isinstance(source, Diagnostic) or content_digest(source.data) == digest:
        return source
    return Diagnostic(
        source.display, 1, "read-error", Severity.ERROR,
        "the file changed while celery-codemod ran; run again",
    )  # fmt: skip


CHANGED = "the file changed since it was read; run again"
SAVED_MEANWHILE = (
    "the file was saved while celery-codemod replaced it; your version was put back; run again"
)
FORCE_HINT = "pass --force-write to write it anyway"


class WriteRefused(Exception):
    """The file is not written; the message says why."""


def write_result(
    result: FileResult, source: SourceFile, *, force: bool = False
) -> Diagnostic | None:
    """Replace the file with the new content, atomically; None when written, else why not.

    Never writes through a symlink, nor over a file that changed since it was read: the file is
    compared (content and stamp) just before the swap, and the file the swap displaced is
    compared again afterwards; if a save landed in between, it is put back. The owner, group and
    mode are kept. A file with several hard links (the new file would replace this name only) or
    a read-only one is refused unless `force`.
    """
    assert result.new_source is not None
    path = source.path
    try:
        info = os.lstat(path)
        if stat.S_ISLNK(info.st_mode):
            raise WriteRefused("the path is a symlink")
        if _changed(path, info, source):
            raise WriteRefused(CHANGED)
        if not force:
            _check_writable(path, info)
        data = result.new_bytes
        if data is None:
            data = result.new_source.encode(source.encoding)
        temp = _temporary_copy(path, data, info, force)
        _swap(path, temp, source)
        _sync_folder(path.parent)
    except WriteRefused as refusal:
        return _write_error(result.path, str(refusal))
    except OSError as error:
        return _write_error(result.path, error.strerror or str(error))
    return None


def _write_error(display: str, reason: str) -> Diagnostic:
    return Diagnostic(display, 1, "write-error", Severity.ERROR, f"not written: {reason}")


def _changed(path: Path, info: os.stat_result, source: SourceFile, *, moved: bool = False) -> bool:
    """Whether the file at `path` (stat'ed as `info`) is not the one read. `moved`: it was
    renamed or linked since, which sets its ctime."""
    if source.stamp is not None:
        same = source.stamp.same_file(info) if moved else source.stamp.unchanged(info)
        if not same:
            return True
    return path.read_bytes() != source.data


def _check_writable(path: Path, info: os.stat_result) -> None:
    if info.st_nlink > 1:
        raise WriteRefused(
            f"the file has {info.st_nlink} hard links and a new file would replace this name "
            f"only; {FORCE_HINT}"
        )
    if not info.st_mode & 0o222 or not os.access(path, os.W_OK):
        raise WriteRefused(f"the file is read-only; {FORCE_HINT}")


def _temporary_copy(path: Path, data: bytes, info: os.stat_result, force: bool) -> Path:
    """A new file beside `path` holding `data`, with its owner, group and mode, synced."""
    import tempfile  # only when writing: a check does not pay for it

    handle, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    temp = Path(name)
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
            created = os.fstat(out.fileno())
            if (created.st_uid, created.st_gid) != (info.st_uid, info.st_gid):
                try:  # before the mode: changing the owner clears set-user-ID bits
                    os.fchown(out.fileno(), info.st_uid, info.st_gid)
                except PermissionError:
                    if not force:
                        raise WriteRefused(
                            f"its owner and group ({info.st_uid}:{info.st_gid}) cannot be kept; "
                            f"{FORCE_HINT}"
                        ) from None
            os.fchmod(out.fileno(), stat.S_IMODE(info.st_mode))
            out.flush()
            os.fsync(out.fileno())
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    return temp


def _swap(path: Path, temp: Path, source: SourceFile) -> None:
    """Put `temp` in place of `path` unless the file at `path` is no longer the one read."""
    try:
        if _changed(path, os.lstat(path), source):  # the last check, just before the swap
            raise WriteRefused(CHANGED)
        try:
            exchange(temp, path)
        except ExchangeUnsupported:
            _replace_keeping_a_link(path, temp, source)
            return
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    # `temp` now names the file that was at `path`: was it saved in the meantime?
    try:
        displaced_changed = _changed(temp, os.lstat(temp), source, moved=True)
    except OSError:
        displaced_changed = True  # cannot tell: put it back
    if displaced_changed:
        try:
            exchange(temp, path)
        except OSError as error:
            raise WriteRefused(
                f"the file may have been saved meanwhile and could not be put back "
                f"({error.strerror or error}); that version is at {temp}"
            ) from None
        temp.unlink(missing_ok=True)
        raise WriteRefused(SAVED_MEANWHILE)
    temp.unlink(missing_ok=True)


def _replace_keeping_a_link(path: Path, temp: Path, source: SourceFile) -> None:
    """Without an atomic exchange: keep a hard link to the file being replaced, and put it back
    if it changed before the rename. A file saved by rename between the link and the rename is
    not seen (README, Safety)."""
    backup = _link_beside(path)
    if backup is None:  # no hard links on this filesystem: the check above is the last one
        os.replace(temp, path)
        return
    try:
        if _changed(backup, os.lstat(backup), source, moved=True):
            raise WriteRefused(CHANGED)
        os.replace(temp, path)
    except BaseException:
        backup.unlink(missing_ok=True)
        raise
    try:
        displaced_changed = _changed(backup, os.lstat(backup), source, moved=True)
    except OSError:
        displaced_changed = True  # cannot tell: put it back
    if displaced_changed:
        try:
            os.replace(backup, path)
        except OSError as error:
            raise WriteRefused(
                f"the file may have been saved meanwhile and could not be put back "
                f"({error.strerror or error}); that version is at {backup}"
            ) from None
        raise WriteRefused(SAVED_MEANWHILE)
    backup.unlink(missing_ok=True)


def _link_beside(path: Path) -> Path | None:
    import secrets

    for _ in range(100):
        backup = path.with_name(f".{path.name}.{secrets.token_hex(4)}.orig")
        try:
            os.link(path, backup, follow_symlinks=False)
        except FileExistsError:
            continue
        except OSError:
            return None
        return backup
    return None


def _sync_folder(folder: Path) -> None:
    """Make the rename durable; some systems cannot open a folder, which only costs durability."""
    try:
        handle = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(handle)
    except OSError:
        pass
    finally:
        os.close(handle)
