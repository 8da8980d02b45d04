"""JSON text exactly as `json.dumps(value, indent=2)` writes it, faster for large documents.

Python's encoder is written in Python when it indents (its C encoder does not indent): every
value costs a chain of generator steps, seconds for a document of megabytes (a project whose
tasks each have hundreds of calls). Here strings are escaped by the C escaper and each
container's text is joined once. Anything but dicts with string keys, lists, tuples, strings,
ints, floats, bools and None is left to `json.dumps` itself, whole, so the text (or the error)
is always its.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from json.encoder import encode_basestring_ascii
from typing import Any

INDENT = "  "


class _Unusual(Exception):
    """A value the fast path does not write."""


def dumps(value: Any) -> str:
    """`json.dumps(value, indent=2)`."""
    try:
        return _text(value, "\n")
    except (_Unusual, RecursionError):
        return json.dumps(value, indent=2)


_SCALARS: dict[type, Callable[[Any], str]] = {
    str: encode_basestring_ascii,
    int: int.__repr__,
    bool: lambda value: "true" if value else "false",
    type(None): lambda _: "null",
    float: json.dumps,
}


def _text(value: Any, newline: str) -> str:
    """The text of `value`, whose first line is indented as `newline` (a line break and the
    indentation of the line the value starts on) says."""
    kind = type(value)
    scalar = _SCALARS.get(kind)
    if scalar is not None:
        return scalar(value)
    inner = newline + INDENT
    written = _SCALARS.get
    parts = []
    if kind is dict:
        if not value:
            return "{}"
        for key, item in value.items():
            if type(key) is not str:
                raise _Unusual
            write = written(type(item))
            text = write(item) if write is not None else _text(item, inner)
            parts.append(f"{encode_basestring_ascii(key)}: {text}")
        return "{" + inner + ("," + inner).join(parts) + newline + "}"
    if kind is list or kind is tuple:
        if not value:
            return "[]"
        for item in value:
            write = written(type(item))
            parts.append(write(item) if write is not None else _text(item, inner))
        return "[" + inner + ("," + inner).join(parts) + newline + "]"
    raise _Unusual
