"""JSON read as the json module reads it, by orjson where the two agree (several times faster: a
request body of 500 recorded events took json 1.4 ms, orjson 0.3 ms).

They disagree on numbers past 64 bits (orjson reads them as floats, silently), and orjson refuses
what json takes (NaN and Infinity, lone surrogates, UTF-16 and UTF-32 text). Text with a run of
19 digits or more (where such a number could be) goes to json, as does anything orjson refuses:
json then reads it, or raises the error it always raised."""

from __future__ import annotations

import contextlib
import json
from typing import Any

import orjson

# 19 digits: the shortest number that can be past 64 bits (2**63 has 19 digits). A run in a
# string or in a float's digits sends the text to json too: slower, never wrong. Found by mapping
# every digit to 0 and looking for 19 zeros (a regex took longer than json's whole parse).
_RUN = 19
_DIGITS_BYTES = bytes.maketrans(b"123456789", b"000000000")
_DIGITS_TEXT = str.maketrans("123456789", "000000000")


def loads(data: bytes | str) -> Any:
    """`json.loads(data)`, faster."""
    if isinstance(data, str):
        long_run = "0" * _RUN in data.translate(_DIGITS_TEXT)
    else:
        long_run = b"0" * _RUN in data.translate(_DIGITS_BYTES)
    if not long_run:
        with contextlib.suppress(orjson.JSONDecodeError):
            return orjson.loads(data)
    return json.loads(data)
