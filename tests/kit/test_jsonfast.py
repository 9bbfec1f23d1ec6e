"""`kit.jsonfast` reads JSON as the json module does (orjson where the two agree): request bodies
of the chat surfaces, WebSocket recording messages and JSON columns go through it."""

from __future__ import annotations

import json
import math

import pytest

from chasm.kit import jsonfast
from chasm.kit.db import load_json

SAME = [
    b'{"a": 1, "b": [true, false, null], "c": "x\\u00e9y", "d": 2.5}',
    b"[123456789012345678901234567890, -123456789012345678901234567890]",  # past 64 bits: exact
    b"[18446744073709551615, 18446744073709551616, -9223372036854775809]",
    b'{"id": "1234567890123456789012", "n": 7}',  # a long digit run in a string
    b"[1e400, -1e400]",  # json: infinities (orjson refuses them)
    b'"\\ud800"',  # a lone surrogate escape: json keeps it (the caller refuses it)
    '{"a": "ü"}'.encode("utf-16"),  # json detects UTF-16
    b"-0",
    "[12345678901234567890123]",  # text as well as bytes
]


@pytest.mark.parametrize("raw", SAME)
def test_reads_what_json_reads_the_way_json_reads_it(raw: bytes | str) -> None:
    expected = json.loads(raw)
    got = jsonfast.loads(raw)
    assert repr(got) == repr(expected)
    assert type(got) is type(expected)


def test_nan_and_errors_as_json() -> None:
    assert math.isnan(jsonfast.loads(b"NaN"))
    for bad in (b"[1, 2,]", b"{", b"", b"\xff"):
        with pytest.raises(ValueError) as fast:
            jsonfast.loads(bad)
        with pytest.raises(ValueError) as slow:
            json.loads(bad)
        assert type(fast.value) is type(slow.value)


def test_a_json_column_keeps_integers_past_64_bits() -> None:
    # orjson alone read 123456789012345678901234567890 back as the float 1.2345678901234568e+29
    assert load_json('{"n": 123456789012345678901234567890}') == {"n": 123456789012345678901234567890}
    assert load_json("null") is None
