"""Records to bytes and back, as JSON shaped by the dataclasses' own field types.

Nothing in the data can run code: decoding builds only the record types the codec was made for,
and checks every value against its field's declared type. Bytes that do not decode into
well-typed records raise `DecodeError`; they never give a half-built record.

The layout follows the types, so it carries no field names: a record is a JSON array of its
fields in order; a value in a union of several kinds (`ValueExpr`) is the bare JSON value for
str/int/float/bool/None and `[tag, body]` for anything else. `fingerprint()` hashes the field
names and types of every record reachable from the root, so a change to any record definition
gives another fingerprint (and a cache keyed on it misses instead of misreading old data).

Depth is bounded both ways: a value nested deeper than `HOIST_DEPTH` (a `+` chain of 1,000
strings is a `Concat` 1,000 deep) is moved to a side list and referred to by position, so neither
the JSON text nor the Python stack of the encoder or decoder grows with the nesting.
"""

from __future__ import annotations

import dataclasses
import enum
import hashlib
import json
import types
import typing
from collections.abc import Callable, Mapping
from typing import Any, Generic, TypeVar

T = TypeVar("T")

# Part of the fingerprint: changes when the layout below changes.
LAYOUT_VERSION = 1
HOIST_DEPTH = 48
HOIST_TAG = "@"
PRIMITIVES: tuple[type, ...] = (str, int, float, bool, type(None))


def json_string(text: str) -> bytes:
    """`text` as the encoder writes a string: a value encoded holds these bytes."""
    return json.dumps(text, ensure_ascii=False).encode("utf-8", "surrogatepass")


class DecodeError(ValueError):
    """The bytes are not an encoding of the expected records."""


class EncodeError(ValueError):
    """A value does not fit its field's declared type."""


# A field of one of these names holds the path of the file the record came from; that path is
# stored as null, so one encoding serves whatever folder the path is shown relative to.
OWN_PATH_FIELDS = frozenset({"path", "display"})


class _Encoding:
    def __init__(self, own_path: str | None) -> None:
        self.own_path = own_path
        self.queue: list[tuple[int, Any]] = []


class _Decoding:
    def __init__(self, own_path: str | None, count: int) -> None:
        self.own_path = own_path
        self.done: list[Any] = [_MISSING] * count


Encoder = Callable[[Any, int, _Encoding], Any]
Decoder = Callable[[Any, _Decoding], Any]


class _Node:
    """How one declared type is encoded, decoded and described."""

    def __init__(self, label: str = "") -> None:
        self.label = label  # for messages
        self.item: _Node | None = None  # of a sequence
        self.encode: Encoder = _unset_encoder
        self.decode: Decoder = _unset_decoder


def _unset_encoder(value: Any, depth: int, state: _Encoding) -> Any:
    raise AssertionError("codec node used before it was built")


def _unset_decoder(data: Any, state: _Decoding) -> Any:
    raise AssertionError("codec node used before it was built")


class Codec(Generic[T]):
    """Encode and decode one root record type (and everything its fields can hold)."""

    def __init__(self, root: type[T]) -> None:
        self._root = root
        self._nodes: dict[Any, _Node] = {}
        self._records: dict[str, type] = {}  # tag -> record or sentinel class, for union members
        self._described = [f"layout {LAYOUT_VERSION}"]  # and each record's fields, enum's members
        self._root_node = self._node(root)
        self.fingerprint = hashlib.blake2b(
            "\n".join(sorted(self._described)).encode(), digest_size=12
        ).hexdigest()

    # -- public ----------------------------------------------------------------------------------

    def encode(self, value: T, own_path: str | None = None) -> bytes:
        """The value as compact JSON bytes. Raises EncodeError when a field holds the wrong type.

        `own_path`: the path of the file the record describes (see OWN_PATH_FIELDS)."""
        state = _Encoding(own_path)
        hoisted: list[Any] = [self._root_node.encode(value, 0, state)]
        # Values nested too deep were queued with their slot; encoding one may queue more.
        position = 0
        while position < len(state.queue):
            slot, pending = state.queue[position]
            position += 1
            while len(hoisted) <= slot:
                hoisted.append(None)
            hoisted[slot] = self._encode_member(pending, state)
        try:
            return json.dumps(hoisted, separators=(",", ":"), ensure_ascii=False).encode(
                "utf-8", "surrogatepass"
            )
        except (TypeError, ValueError, RecursionError) as error:
            raise EncodeError(str(error)) from None

    def decode(self, data: bytes, own_path: str | None = None) -> T:
        """The record encoded in `data`; DecodeError for anything else."""
        try:
            entries = json.loads(data.decode("utf-8", "surrogatepass"))
        except (ValueError, RecursionError, UnicodeDecodeError) as error:
            raise DecodeError(f"not JSON: {error}") from None
        if not isinstance(entries, list) or not entries:
            raise DecodeError("not a list of entries")
        state = _Decoding(own_path, len(entries))
        try:
            # Hoisted values only refer to later entries: decode from the end.
            for index in range(len(entries) - 1, 0, -1):
                state.done[index] = self._decode_member(entries[index], state)
            return typing.cast(T, self._root_node.decode(entries[0], state))
        except DecodeError:
            raise
        except (TypeError, ValueError, KeyError, IndexError, RecursionError) as error:
            raise DecodeError(f"{type(error).__name__}: {error}") from None

    # -- building the nodes ----------------------------------------------------------------------

    def _node(self, tp: Any) -> _Node:
        key = tp
        node = self._nodes.get(key)
        if node is not None:
            return node
        origin = typing.get_origin(tp)
        args = typing.get_args(tp)
        if tp in PRIMITIVES:
            node = self._primitive(tp)
        elif tp is bytes:
            node = self._bytes()
        elif tp is Any or tp is object:
            raise TypeError(f"cannot encode a field of type {tp!r}")
        elif isinstance(tp, type) and issubclass(tp, enum.Enum):
            node = self._enum(tp)
        elif dataclasses.is_dataclass(tp) and isinstance(tp, type):
            node = _Node(_name(tp))
            self._nodes[key] = node  # before the fields: records may refer to themselves
            self._record(tp, node)
            return node
        elif origin in (types.UnionType, typing.Union):
            node = _Node("")
            self._nodes[key] = node
            self._union(args, node)
            return node
        elif origin is typing.Literal:
            kinds = tuple(dict.fromkeys(type(a) for a in args))
            return self._node(kinds[0] if len(kinds) == 1 else typing.Union[kinds])  # noqa: UP007
        elif origin is tuple and len(args) == 2 and args[1] is Ellipsis:
            node = self._sequence(self._node(args[0]), tuple, "tuple")
        elif origin is tuple:
            node = self._fixed_tuple([self._node(a) for a in args])
        elif origin is list:
            node = self._sequence(self._node(args[0]), list, "list")
        elif origin is frozenset:
            node = self._sequence(self._node(args[0]), frozenset, "frozenset")
        elif origin in (dict, Mapping, typing.Mapping):
            node = self._mapping(self._node(args[0]), self._node(args[1]), args[0] is str)
        elif isinstance(tp, type) and _is_sentinel(tp):
            node = self._sentinel(tp)
        else:
            raise TypeError(f"cannot encode a field of type {tp!r}")
        self._nodes[key] = node
        return node

    def _primitive(self, kind: type) -> _Node:
        node = _Node(kind.__name__ if kind is not type(None) else "None")

        def encode(value: Any, depth: int, state: _Encoding) -> Any:
            if type(value) is not kind:
                raise EncodeError(f"expected {node.label}, got {type(value).__name__}")
            return value

        def decode(data: Any, state: _Decoding) -> Any:
            if type(data) is not kind:
                raise DecodeError(f"expected {node.label}, got {type(data).__name__}")
            return data

        node.encode, node.decode = encode, decode
        return node

    def _own_path(self) -> _Node:
        node = _Node("path")

        def encode(value: Any, depth: int, state: _Encoding) -> Any:
            if type(value) is not str:
                raise EncodeError(f"expected a path, got {type(value).__name__}")
            return None if value == state.own_path else value

        def decode(data: Any, state: _Decoding) -> Any:
            if data is None and state.own_path is not None:
                return state.own_path
            if type(data) is not str:
                raise DecodeError("not a path")
            return data

        node.encode, node.decode = encode, decode
        return node

    def _bytes(self) -> _Node:
        node = _Node("bytes")

        def encode(value: Any, depth: int, state: _Encoding) -> Any:
            if type(value) is not bytes:
                raise EncodeError(f"expected bytes, got {type(value).__name__}")
            return value.hex()

        def decode(data: Any, state: _Decoding) -> Any:
            if type(data) is not str:
                raise DecodeError("expected bytes as hex")
            return bytes.fromhex(data)

        node.encode, node.decode = encode, decode
        return node

    def _enum(self, kind: type[enum.Enum]) -> _Node:
        members = {m.value: m for m in kind}
        node = _Node(kind.__name__)
        self._described.append(f"{_name(kind)}{{{', '.join(sorted(map(repr, members)))}}}")

        def encode(value: Any, depth: int, state: _Encoding) -> Any:
            if type(value) is not kind:
                raise EncodeError(f"expected {kind.__name__}, got {type(value).__name__}")
            return value.value

        def decode(data: Any, state: _Decoding) -> Any:
            if type(data) not in PRIMITIVES:
                raise DecodeError(f"not a {kind.__name__}")
            member = members.get(data)
            if member is None:
                raise DecodeError(f"not a {kind.__name__}: {data!r}")
            return member

        node.encode, node.decode = encode, decode
        return node

    def _sentinel(self, kind: type) -> _Node:
        instance = kind()
        node = _Node(_name(kind))
        self._records[kind.__name__] = kind

        def encode(value: Any, depth: int, state: _Encoding) -> Any:
            if value is not instance:
                raise EncodeError(f"expected {kind.__name__}")
            return 0

        def decode(data: Any, state: _Decoding) -> Any:
            if data != 0 or type(data) is not int:
                raise DecodeError(f"not {kind.__name__}")
            return instance

        node.encode, node.decode = encode, decode
        return node

    def _record(self, kind: type, node: _Node) -> None:
        hints = typing.get_type_hints(kind)
        fields = [f for f in dataclasses.fields(kind) if f.init]
        nodes = [
            (f.name, self._own_path() if _holds_own_path(f.name, hints[f.name]) else
             self._node(hints[f.name]))
            for f in fields
        ]  # fmt: skip
        described = ", ".join(f"{f.name}: {hints[f.name]!r}" for f in fields)
        self._described.append(f"{_name(kind)}({described})")
        self._records[kind.__name__] = kind

        def encode(value: Any, depth: int, state: _Encoding) -> Any:
            if type(value) is not kind:
                raise EncodeError(f"expected {kind.__name__}, got {type(value).__name__}")
            return [n.encode(getattr(value, name), depth + 1, state) for name, n in nodes]

        node.encode = encode
        typed = [(f.name, hints[f.name], n) for f, (_, n) in zip(fields, nodes, strict=True)]

        def decode(data: Any, state: _Decoding) -> Any:
            # Generated when first needed: many runs never decode some records.
            node.decode = _record_decoder(kind, typed)
            return node.decode(data, state)

        node.decode = decode

    def _union(self, args: tuple[Any, ...], node: _Node) -> None:
        primitives = frozenset(a for a in args if a in PRIMITIVES)
        members = [a for a in args if a not in PRIMITIVES]
        tagged: dict[str, tuple[type, _Node]] = {}
        for member in members:
            child = self._node(member)
            origin = typing.get_origin(member) or member
            tag = origin.__name__
            if tag in tagged or tag == HOIST_TAG:
                raise TypeError(f"two members of {args!r} share the tag {tag}")
            tagged[tag] = (origin, child)
        by_class = {kind: (tag, child) for tag, (kind, child) in tagged.items()}
        node.label = " | ".join(
            ["None" if p is type(None) else p.__name__ for p in primitives] + list(tagged)
        )
        allowed = frozenset(kind for kind, _ in tagged.values())

        def encode(value: Any, depth: int, state: _Encoding) -> Any:
            kind = type(value)
            if kind in primitives:
                return value
            entry = by_class.get(kind)
            if entry is None:
                raise EncodeError(f"{kind.__name__} is not one of {node.label}")
            if depth >= HOIST_DEPTH:
                slot = len(state.queue) + 1
                state.queue.append((slot, value))
                return [HOIST_TAG, slot]
            return [entry[0], entry[1].encode(value, depth + 1, state)]

        def decode(data: Any, state: _Decoding) -> Any:
            kind = type(data)
            if kind in primitives:
                return data
            if kind is not list or len(data) != 2 or type(data[0]) is not str:
                raise DecodeError(f"not one of {node.label}")
            if data[0] == HOIST_TAG:
                slot = data[1]
                done = state.done
                if type(slot) is not int or not 0 < slot < len(done) or done[slot] is _MISSING:
                    raise DecodeError("a reference to no entry decoded before")
                value = done[slot]
                if type(value) not in allowed:
                    raise DecodeError(f"{type(value).__name__} is not one of {node.label}")
                return value
            entry = tagged.get(data[0])
            if entry is None:
                raise DecodeError(f"{data[0]!r} is not one of {node.label}")
            return entry[1].decode(data[1], state)

        node.encode, node.decode = encode, decode

    def _sequence(self, item: _Node, kind: Any, label: str) -> _Node:
        node = _Node()
        node.item = item
        ordered = kind is frozenset

        def encode(value: Any, depth: int, state: _Encoding) -> Any:
            if type(value) is not kind:
                raise EncodeError(f"expected {label}, got {type(value).__name__}")
            encoded = [item.encode(v, depth + 1, state) for v in value]
            if ordered:
                encoded.sort(key=lambda v: json.dumps(v, sort_keys=True))
            return encoded

        def decode(data: Any, state: _Decoding) -> Any:
            if type(data) is not list:
                raise DecodeError(f"not a {label}")
            return kind(item.decode(v, state) for v in data)

        node.encode, node.decode = encode, decode
        return node

    def _fixed_tuple(self, items: list[_Node]) -> _Node:
        node = _Node("tuple")
        count = len(items)

        def encode(value: Any, depth: int, state: _Encoding) -> Any:
            if type(value) is not tuple or len(value) != count:
                raise EncodeError(f"expected a {count}-tuple")
            return [i.encode(v, depth + 1, state) for i, v in zip(items, value, strict=True)]

        def decode(data: Any, state: _Decoding) -> Any:
            if type(data) is not list or len(data) != count:
                raise DecodeError(f"not a {count}-tuple")
            return tuple(i.decode(v, state) for i, v in zip(items, data, strict=True))

        node.encode, node.decode = encode, decode
        return node

    def _mapping(self, key: _Node, value: _Node, str_keys: bool) -> _Node:
        node = _Node("mapping")

        def encode(data: Any, depth: int, state: _Encoding) -> Any:
            if not isinstance(data, Mapping):
                raise EncodeError(f"expected a mapping, got {type(data).__name__}")
            pairs = [
                [key.encode(k, depth + 1, state), value.encode(v, depth + 1, state)]
                for k, v in data.items()
            ]
            return {k: v for k, v in pairs} if str_keys else pairs

        def decode(data: Any, state: _Decoding) -> Any:
            if str_keys:
                if type(data) is not dict:
                    raise DecodeError("not a mapping")
                return {key.decode(k, state): value.decode(v, state) for k, v in data.items()}
            if type(data) is not list:
                raise DecodeError("not a mapping")
            result = {}
            for pair in data:
                if type(pair) is not list or len(pair) != 2:
                    raise DecodeError("not a key-value pair")
                result[key.decode(pair[0], state)] = value.decode(pair[1], state)
            return result

        node.encode, node.decode = encode, decode
        return node

    # -- hoisted values and the fingerprint ------------------------------------------------------

    def _encode_member(self, value: Any, state: _Encoding) -> Any:
        kind = type(value)
        node = self._nodes.get(kind)
        if node is None:
            raise EncodeError(f"cannot encode {kind.__name__}")
        return [kind.__name__, node.encode(value, 0, state)]

    def _decode_member(self, data: Any, state: _Decoding) -> Any:
        if type(data) is not list or len(data) != 2 or type(data[0]) is not str:
            raise DecodeError("not a tagged entry")
        kind = self._records.get(data[0])
        if kind is None:
            raise DecodeError(f"{data[0]!r} is not a record")
        return self._nodes[kind].decode(data[1], state)


_MISSING = object()


def _primitive_kinds(hint: Any) -> frozenset[type] | None:
    """The types a value of `hint` may have when they are all JSON primitives, else None."""
    if hint in PRIMITIVES:
        return frozenset({hint})
    if typing.get_origin(hint) in (types.UnionType, typing.Union):
        members = typing.get_args(hint)
        if all(m in PRIMITIVES for m in members):
            return frozenset(members)
    return None


def _record_decoder(kind: type, fields: list[tuple[str, Any, _Node]]) -> Decoder:
    """A decoder for one record, generated as Python source (as dataclasses makes __init__):
    checks of primitive fields are inlined, other fields call their node."""
    namespace: dict[str, Any] = {
        "kind": kind,
        "DecodeError": DecodeError,
        "message": f"not a {kind.__name__}",
    }
    lines = [
        "def decode(data, state):",
        f"    if data.__class__ is not list or len(data) != {len(fields)}:",
        "        raise DecodeError(message)",
    ]
    for i, (name, hint, node) in enumerate(fields):
        value = f"v{i}"
        lines.append(f"    {value} = data[{i}]")
        origin, args = typing.get_origin(hint), typing.get_args(hint)
        kinds = _primitive_kinds(hint)
        item_kinds = _primitive_kinds(args[0]) if origin in (tuple, frozenset) and args else None
        namespace[f"k{i}"] = kinds if kinds is not None else item_kinds
        namespace[f"n{i}"] = node
        if _holds_own_path(name, hint):
            lines += [
                f"    if {value} is None and state.own_path is not None:",
                f"        {value} = state.own_path",
                f"    elif {value}.__class__ is not str:",
                "        raise DecodeError(message)",
            ]
        elif kinds is not None:
            lines += [
                f"    if {value}.__class__ not in k{i}:",
                "        raise DecodeError(message)",
            ]
        elif item_kinds is not None and (
            (origin is tuple and len(args) == 2 and args[1] is Ellipsis) or origin is frozenset
        ):
            convert = "tuple" if origin is tuple else "frozenset"
            lines += [
                f"    if {value}.__class__ is not list or any(",
                f"        x.__class__ not in k{i} for x in {value}",
                "    ):",
                "        raise DecodeError(message)",
                f"    {value} = {convert}({value})",
            ]
        elif origin in (types.UnionType, typing.Union):
            # Mostly a string or another primitive: only the rest goes through the union's node.
            namespace[f"k{i}"] = frozenset(a for a in args if a in PRIMITIVES)
            lines += [
                f"    if {value}.__class__ not in k{i}:",
                f"        {value} = n{i}.decode({value}, state)",
            ]
        elif origin is tuple and len(args) == 2 and args[1] is Ellipsis:
            lines += [
                f"    if {value}.__class__ is not list:",
                "        raise DecodeError(message)",
                f"    {value} = tuple([n{i}.item.decode(x, state) for x in {value}])",
            ]
        else:
            lines.append(f"    {value} = n{i}.decode({value}, state)")
    setters = _slot_setters(kind, [name for name, _, _ in fields])
    if setters is None:
        lines.append(f"    return kind({', '.join(f'v{i}' for i in range(len(fields)))})")
    else:  # what the dataclass's __init__ does, without a call per field by name
        namespace["new"] = object.__new__
        lines.append("    record = new(kind)")
        for i, setter in enumerate(setters):
            namespace[f"s{i}"] = setter
            lines.append(f"    s{i}(record, v{i})")
        lines.append("    return record")
    exec("\n".join(lines), namespace)
    return typing.cast(Decoder, namespace["decode"])


def _slot_setters(kind: type, names: list[str]) -> list[Callable[[Any, Any], None]] | None:
    """The slots' own setters, when the record is a dataclass whose generated __init__ only
    assigns every field to its slot (no __post_init__, no other fields); else None."""
    params = getattr(kind, "__dataclass_params__", None)
    if params is None or not params.init or hasattr(kind, "__post_init__"):
        return None
    if [f.name for f in dataclasses.fields(kind)] != names:
        return None
    setters = []
    for name in names:
        slot = kind.__dict__.get(name)
        if type(slot) is not types.MemberDescriptorType:
            return None
        setters.append(slot.__set__)
    return setters


def _holds_own_path(name: str, hint: Any) -> bool:
    return name in OWN_PATH_FIELDS and hint is str


def _name(kind: type) -> str:
    return f"{kind.__module__}.{kind.__qualname__}"


def _is_sentinel(kind: type) -> bool:
    """A class with one instance that takes no arguments (model.NOT_LITERAL's class)."""
    try:
        return kind() is kind()
    except TypeError:
        return False
