"""Job kinds the jobs tests register (the server loads them like a domain's tasks module)."""

from __future__ import annotations

import asyncio
import os
from collections import Counter
from typing import Any

from pydantic import BaseModel

from chasm.jobs.registry import JobContext, job_kind

flaky_calls: Counter[str] = Counter()


class Label(BaseModel):
    label: str


class Sleep(BaseModel):
    seconds: float


class Record(BaseModel):
    path: str
    sleep_s: float = 0.0


@job_kind(
    "test.flaky",
    Label,
    scope="sessions.write",
    max_attempts=3,
    retry_backoff_s=0.05,
    description="Fails twice, then succeeds",
)
async def flaky(ctx: JobContext, data: Label) -> dict[str, Any]:
    flaky_calls[data.label] += 1
    if ctx.attempt < 3:
        raise RuntimeError(f"attempt {ctx.attempt} fails")
    return {"label": data.label, "attempt": ctx.attempt}


@job_kind("test.broken", Label, scope="sessions.write", max_attempts=2, retry_backoff_s=0.05)
async def broken(ctx: JobContext, data: Label) -> dict[str, Any]:
    raise ValueError(f"{data.label} is broken")


@job_kind("test.sleep", Sleep, scope="sessions.read", max_attempts=1, timeout_s=1)
async def sleep(ctx: JobContext, data: Sleep) -> dict[str, Any]:
    await asyncio.sleep(data.seconds)
    return {"slept": data.seconds}


@job_kind("test.record", Record, scope="sessions.write", max_attempts=1)
async def record_run(ctx: JobContext, data: Record) -> dict[str, Any]:
    """Appends '<job id> <pid>' to a file: the multi-process test counts the runs."""
    if data.sleep_s:
        await asyncio.sleep(data.sleep_s)
    with open(data.path, "a", encoding="utf-8") as fh:
        fh.write(f"{ctx.job_id} {os.getpid()}\n")
    return {"pid": os.getpid()}


@job_kind("test.wait", Sleep, scope="sessions.write", max_attempts=1, timeout_s=60)
async def wait(ctx: JobContext, data: Sleep) -> dict[str, Any]:
    await asyncio.sleep(data.seconds)
    return {"slept": data.seconds}
