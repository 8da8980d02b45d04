"""jsontext.dumps writes what json.dumps(indent=2) writes, byte for byte (or raises as it does)."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from codemods.jsontext import dumps

scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text()
)
documents = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=4)
        | st.lists(children, max_size=3).map(tuple)
        | st.dictionaries(st.text(), children, max_size=4)
    ),
    max_leaves=40,
)


@settings(max_examples=400, deadline=None)
@given(documents)
def test_writes_what_json_dumps_writes(document: Any) -> None:
    assert dumps(document) == json.dumps(document, indent=2)


@pytest.mark.parametrize(
    "document",
    [
        {1: "a", "b": [2]},  # keys json.dumps turns into text
        {None: True, 1.5: False, True: 0},
        {"a": {1, 2}},  # a set: json.dumps refuses it
        [math.nan, -math.inf, 1e300, -0.0, 10**40],
        {'é\u2028\x00"\\': ["\U0001f600", "\t"]},
        [[], {}, [[]], {"": {}}],
    ],
)
def test_unusual_values_are_written_or_refused_as_json_dumps_does(document: Any) -> None:
    try:
        expected = json.dumps(document, indent=2)
    except TypeError as error:
        with pytest.raises(TypeError, match=str(error)):
            dumps(document)
        return
    assert dumps(document) == expected


def test_a_document_that_contains_itself_is_refused_as_json_dumps_does() -> None:
    loop: list[Any] = []
    loop.append(loop)
    with pytest.raises(ValueError, match="Circular reference"):
        dumps(loop)
