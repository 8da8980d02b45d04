"""Swap two paths atomically: Linux's renameat2(RENAME_EXCHANGE), where the C library has it.

After `exchange(a, b)` the file that was at `a` is at `b` and the other way round, in one step: no
moment exists where either name is missing or where a file put at `b` meanwhile is unlinked.
"""

from __future__ import annotations

import errno
import os
import sys
from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import ctypes

AT_FDCWD = -100
RENAME_EXCHANGE = 2
# The kernel or the filesystem does not support the flag.
UNSUPPORTED = {errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP}


class ExchangeUnsupported(Exception):
    """This system or filesystem cannot swap two paths atomically."""


@cache
def _renameat2() -> ctypes._CFuncPtr | None:  # type: ignore[name-defined]
    if not sys.platform.startswith("linux"):
        return None
    import ctypes  # only when writing: a check does not pay for it
    import ctypes.util

    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        function = libc.renameat2
    except (OSError, AttributeError):  # no C library, or one older than glibc 2.28
        return None
    function.argtypes = [
        ctypes.c_int,
        ctypes.c_char_p,
        ctypes.c_int,
        ctypes.c_char_p,
        ctypes.c_uint,
    ]
    function.restype = ctypes.c_int
    return function


def exchange(first: str | os.PathLike[str], second: str | os.PathLike[str]) -> None:
    """Swap the two paths; ExchangeUnsupported when the system or filesystem cannot."""
    function = _renameat2()
    if function is None:
        raise ExchangeUnsupported("renameat2 is not available")
    status = function(AT_FDCWD, os.fsencode(first), AT_FDCWD, os.fsencode(second), RENAME_EXCHANGE)
    if status == 0:
        return
    import ctypes

    error = ctypes.get_errno()
    if error in UNSUPPORTED:
        raise ExchangeUnsupported(os.strerror(error))
    raise OSError(error, os.strerror(error), os.fspath(second))
