"""Reading and writing the user's files: decoding as Python does, atomic replacement."""

from __future__ import annotations

import hashlib
import io
import os
import tempfile
import tokenize
from dataclasses import dataclass
from pathlib import Path

from codemods.model import Diagnostic, FileResult, Severity


@dataclass(frozen=True)
class SourceFile:
    path: Path
    display: str
    data: bytes
    encoding: str
    text: str


def content_digest(data: bytes) -> bytes:
    return hashlib.blake2b(data, digest_size=16).digest()


def display_path(path: Path) -> str:
    return os.path.relpath(path).replace(os.sep, "/")


def read_source(path: Path, data: bytes | None = None) -> SourceFile | Diagnostic:
    """The file decoded as Python does (coding cookie, BOM); `data` when already read."""
    display = display_path(path)
    try:
        if data is None:
            data = path.read_bytes()
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
    return SourceFile(path, display, data, encoding, text)


def write_result(result: FileResult, source: SourceFile) -> Diagnostic | None:
    """Replace the file atomically with the new text; refuse if it changed since it was read."""
    assert result.new_source is not None
    path = source.path
    if path.is_symlink():
        return Diagnostic(
            result.path, 1, "write-error", Severity.ERROR, "not written: the path is a symlink"
        )
    try:
        if path.read_bytes() != source.data:
            return Diagnostic(
                result.path,
                1,
                "write-error",
                Severity.ERROR,
                "not written: the file changed since it was read; run again",
            )
        data = result.new_source.encode(source.encoding)
        mode = path.stat().st_mode
        handle, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            os.chmod(temp, mode)
            os.replace(temp, path)
        except BaseException:
            os.unlink(temp)
            raise
    except OSError as error:
        return Diagnostic(
            result.path, 1, "write-error", Severity.ERROR, f"not written: {error.strerror or error}"
        )
    return None
