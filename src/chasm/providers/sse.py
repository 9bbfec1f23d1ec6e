"""Server-sent events read off a streamed response's lines. The providers' streams are parsed here
as plain JSON (orjson), not into the SDKs' models: building a model per chunk costs more than
everything else Chasm does to relay it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import orjson


async def events(lines: AsyncIterator[str]) -> AsyncIterator[tuple[str | None, str]]:
    """(event name, data) of each event."""
    name: str | None = None
    data: list[str] = []
    async for line in lines:
        if not line:
            if data:
                yield name, "\n".join(data)
            name, data = None, []
            continue
        if line.startswith(":"):
            continue
        field, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if field == "data":
            data.append(value)
        elif field == "event":
            name = value
    if data:
        yield name, "\n".join(data)


def payload(data: str) -> dict[str, Any]:
    """An event's JSON object (ValueError when it is none: a provider answering garbage)."""
    value = orjson.loads(data)
    if not isinstance(value, dict):
        raise ValueError("an event that is not a JSON object")
    return value
