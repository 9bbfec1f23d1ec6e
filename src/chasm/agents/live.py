"""A run's steps as they happen, as Server-Sent Events: `step` for each step, then `run` (the
finished run) or `error` (the failure in the surface's error shape, the run recorded failed).
A client that goes away stops the run (its sandbox session ends with it)."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from pydantic import BaseModel

from chasm.agents.runner import StepListener
from chasm.kit.errors import ChasmError, render
from chasm.kit.surface import Surface

Work = Callable[[StepListener], Awaitable[BaseModel]]


def _event(name: str, data: Any) -> bytes:
    return f"event: {name}\ndata: {json.dumps(data, default=str)}\n\n".encode()


async def sse(work: Work, surface: Surface) -> AsyncIterator[bytes]:
    queue: asyncio.Queue[bytes] = asyncio.Queue()

    def on_step(step: dict[str, Any]) -> None:
        queue.put_nowait(_event("step", step))

    async def run() -> None:
        try:
            result = await work(on_step)
            queue.put_nowait(_event("run", result.model_dump(mode="json")))
        except ChasmError as exc:
            body = render(surface, exc.status_code, exc.code, exc.message, exc.details)
            queue.put_nowait(_event("error", {"status": exc.status_code, **body}))

    task = asyncio.create_task(run())
    try:
        while not (task.done() and queue.empty()):
            getter = asyncio.create_task(queue.get())
            await asyncio.wait({getter, task}, return_when=asyncio.FIRST_COMPLETED)
            if getter.done():
                yield getter.result()
            else:
                getter.cancel()
        task.result()
    finally:
        if not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
