"""Streamed requests to a provider and the server-sent events read off their lines. The request is
sent by the SDK's client (its retries, headers, status errors) with the body Chasm built, which is
already plain JSON: the typed `create` methods would walk it again against their TypedDicts, a
millisecond before the first token. The stream is parsed as plain JSON (orjson), not into the
SDKs' models: building a model per chunk costs more than everything else Chasm does to relay it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx2
import orjson

# How long the end of a body may take to arrive once its last event came.
DRAIN_S = 2.0


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


async def open_stream(client: Any, path: str, body: dict[str, Any]) -> httpx2.Response:
    """POST `body` through an SDK client (openai's or anthropic's), the response's body unread;
    the SDK's exceptions for a refusal. The caller closes the response."""
    response: httpx2.Response = await client.post(path, cast_to=httpx2.Response, body=body, stream=True)
    return response


def payload(data: str) -> dict[str, Any]:
    """An event's JSON object (ValueError when it is none: a provider answering garbage)."""
    value = orjson.loads(data)
    if not isinstance(value, dict):
        raise ValueError("an event that is not a JSON object")
    return value


async def drain(stream: AsyncIterator[Any], limit_s: float = DRAIN_S) -> None:
    """Read what is left of a stream whose last event came (the end of its chunked body), so its
    connection goes back to the client's pool. Closed unread, the connection is dropped: the next
    request pays for a new one, and the provider sees a reset when the end arrives."""
    try:
        async with asyncio.timeout(limit_s):
            async for _ in stream:
                pass
    except Exception:  # noqa: BLE001 — the answer is complete; at worst the connection is not reused
        return
