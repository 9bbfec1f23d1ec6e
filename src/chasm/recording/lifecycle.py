"""The recording runtime of a server process: its write lock and group commit (`writer`), its
start time for recovery."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from chasm.recording.writer import RecordingRuntime


@asynccontextmanager
async def recording_lifespan(app: FastAPI) -> AsyncIterator[None]:
    app.state.recording = runtime = RecordingRuntime(app.state.write_activity)
    try:
        yield
    finally:
        await runtime.aclose()
