"""Helpers of the webhook tests: events emitted straight into the outbox, and waiting."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI

from chasm.kit.db import transaction
from chasm.webhooks.outbox import emit


async def emit_events(app: FastAPI, account_id: Any, count: int, event_type: str = "job.succeeded") -> None:
    """`count` events, each committed in its own transaction, numbered in their data."""
    for i in range(count):
        async with transaction(app.state.sessionmaker) as db:
            await emit(db, uuid.UUID(str(account_id)), event_type, {"n": i})


async def wait_until(check: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)


async def wait_for_api(check: Callable[[], Awaitable[bool]], timeout: float = 10.0) -> None:
    """Like wait_until, for a condition read through the API (the receiver sees a request before
    the dispatcher commits its outcome)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)
