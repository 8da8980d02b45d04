"""The new bytes of an edited file: its original bytes with the encoded insertions spliced in.

Decoding a file and encoding the new text whole would change bytes the edit never touched in
encodings where that is not the identity (cp932's NEC and IBM duplicates, euc_jp, iso2022_jp,
johab, hz, utf-7). Every byte outside the insertions is kept instead, and the result must decode
to exactly the new text.
"""

from __future__ import annotations

import codecs
from collections.abc import Sequence

# Below this many matching characters the prefix search stops doubling its step.
FIRST_STEP = 64


class SpliceError(Exception):
    """The edit cannot be written into the file's bytes as a pure insertion; says why."""


def splice(data: bytes, encoding: str, old: str, new: str) -> bytes:
    """`data` (which decodes to `old`) with what `new` inserts into `old`, encoded."""
    pieces = insertions(old, new)
    if not pieces:
        return data
    codec = codecs.lookup(encoding).name
    body = "utf-8" if codec == "utf-8-sig" else codec  # the BOM is part of `data` already
    offsets = byte_offsets(data, codec, old, [offset for offset, _ in pieces])
    out = []
    previous = 0
    for (_, text), offset in zip(pieces, offsets, strict=True):
        out.append(data[previous:offset])
        try:
            out.append(text.encode(body))
        except UnicodeEncodeError as error:
            reason = f"the inserted text cannot be written as {encoding}: {error.reason}"
            raise SpliceError(reason) from None
        previous = offset
    out.append(data[previous:])
    result = b"".join(out)
    try:
        same = result.decode(codec) == new
    except UnicodeDecodeError:
        same = False
    if not same:
        raise SpliceError(
            f"the insertion cannot be written into this {encoding} file without changing the "
            "bytes around it"
        )
    return result


def insertions(old: str, new: str) -> list[tuple[int, str]]:
    """(offset in `old`, inserted text) of each run of characters `new` inserts into `old`.

    Characters are matched greedily, so an inserted run that starts like the text after it is
    split differently than it was typed; the text is the same either way."""
    pieces: list[tuple[int, str]] = []
    i = j = 0
    while i < len(old):
        common = _common_prefix(old, i, new, j)
        i += common
        j += common
        if i == len(old):
            break
        start = j
        wanted = old[i]
        j = new.find(wanted, j)
        if j < 0:
            raise SpliceError("the edit is not an insertion")
        pieces.append((i, new[start:j]))
    if j < len(new):
        pieces.append((len(old), new[j:]))
    return pieces


def _common_prefix(a: str, i: int, b: str, j: int) -> int:
    """The length of the common prefix of a[i:] and b[j:], comparing slices of growing size."""
    done = 0
    step = FIRST_STEP
    limit = min(len(a) - i, len(b) - j)
    while done < limit:
        size = min(step, limit - done)
        if a[i + done : i + done + size] == b[j + done : j + done + size]:
            done += size
            step *= 2
            continue
        low, high = 0, size  # the first difference lies in this slice: bisect it
        while low < high:
            middle = (low + high) // 2
            if a[i + done : i + done + middle + 1] == b[j + done : j + done + middle + 1]:
                low = middle + 1
            else:
                high = middle
        return done + low
    return done


def byte_offsets(data: bytes, codec: str, text: str, points: Sequence[int]) -> list[int]:
    """The byte offset in `data` of each character offset in `points` (ascending) of `text`."""
    fast = _offsets_by_encoding(data, codec, text, points)
    return fast if fast is not None else _offsets_by_decoding(data, codec, points)


def _offsets_by_encoding(
    data: bytes, codec: str, text: str, points: Sequence[int]
) -> list[int] | None:
    """Encode the text between points and match it against `data`; None when some part is not
    written the way this codec writes it (then the slow, exact walk is needed)."""
    body, position = ("utf-8", 3) if codec == "utf-8-sig" else (codec, 0)
    offsets = []
    previous = 0
    for point in points:
        try:
            encoded = text[previous:point].encode(body)
        except UnicodeEncodeError:
            return None
        if data[position : position + len(encoded)] != encoded:
            return None
        position += len(encoded)
        offsets.append(position)
        previous = point
    return offsets


def _offsets_by_decoding(data: bytes, codec: str, points: Sequence[int]) -> list[int]:
    """Walk `data` with an incremental decoder: whole lines while they end before the next
    point, then byte by byte. A point's offset is the last one at which exactly that many
    characters are decoded and no byte is pending (after any shift sequence)."""
    decoder = codecs.getincrementaldecoder(codec)()
    offsets = []
    position = chars = 0
    for point in points:
        while True:  # whole lines that end before the point
            end = data.find(b"\n", position)
            end = len(data) if end < 0 else end + 1
            if end == position:
                break
            state = decoder.getstate()
            decoded = len(decoder.decode(data[position:end]))
            if chars + decoded < point:
                position, chars = end, chars + decoded
                continue
            decoder.setstate(state)
            break
        found = None
        while position <= len(data):
            state = decoder.getstate()
            if chars == point and not state[0]:
                found = (position, state)
            elif chars > point:
                break
            if position == len(data):
                break
            chars += len(decoder.decode(data[position : position + 1]))
            position += 1
        if found is None:
            raise SpliceError("an insertion point falls inside an encoded character")
        position, state = found
        decoder.setstate(state)
        chars = point
        offsets.append(position)
    return offsets
