"""The recording runtime of a server process (its write lock, its start time for recovery)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from chasm.recording.service import RecordingRuntime


@asynccontextmanager
async def recording_lifespan(app: FastAPI) -> AsyncIterator[None]:
    app.state.recording = RecordingRuntime()
    yield
