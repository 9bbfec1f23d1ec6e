"""Values of the type a parser expects, or a neutral default (tools change their formats), and the
text inside nested content."""

from __future__ import annotations

import json
from typing import Any

import orjson

from chasm.harvest.sources.toolkit.jsonl import loads


def as_dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def as_int(value: Any) -> int:
    """A count from an int, a float or a numeric string; 0 for anything else (a bool too)."""
    if value.__class__ is int:
        return value  # type: ignore[no-any-return]
    if isinstance(value, bool):
        return 0
    if isinstance(value, int | float):
        return int(value)
    if isinstance(value, str):
        try:
            return int(float(value))
        except ValueError:
            return 0
    return 0


def as_str(value: Any) -> str | None:
    """A non-empty string, or None."""
    return value if isinstance(value, str) and value else None


def as_key(value: Any) -> str | None:
    """A value usable as a node id (a string; anything else is no id)."""
    return value if isinstance(value, str) else None


def text_of(value: Any) -> str:
    """The text in a string, a list of parts/blocks, or a block dict ({"text"}, {"content"}...);
    "" when there is none (a structure without text is not shown as text)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        parts = [text_of(v) for v in value]
        return "\n".join(p for p in parts if p)
    if isinstance(value, dict):
        for key in ("text", "content", "output", "value"):
            inner = value.get(key)
            if isinstance(inner, str):
                return inner
            if isinstance(inner, list | dict):
                return text_of(inner)
        return ""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return ""


def output_text(value: Any) -> str | None:
    """Tool output in whatever shape a tool stored it, as text: the text inside, else the structure
    as JSON; None for no output."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        pieces = [p for p in (output_text(item) for item in value) if p]
        return "\n".join(pieces)
    if isinstance(value, dict):
        for key in ("text", "content", "contents", "output", "value", "result"):
            if key in value:
                text = output_text(value[key])
                if text is not None:
                    return text
    return json.dumps(value, ensure_ascii=False)


def to_json_text(value: Any) -> str:
    """A string as it is; anything else as compact JSON (or `str()` when not JSON)."""
    if isinstance(value, str):
        return value
    try:
        return orjson.dumps(value).decode()
    except TypeError:
        return str(value)


def parse_arguments(value: Any) -> Any:
    """Tool arguments: a JSON string becomes its value; anything else is kept as it is."""
    if isinstance(value, str):
        text = value.strip()
        if text[:1] in ("{", "["):
            try:
                return loads(text)
            except ValueError:
                return value
    return value
