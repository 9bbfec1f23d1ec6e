"""The chat API's writes announced on the server's bus (chasm.realtime.tracking)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from chasm.realtime import tracking


@asynccontextmanager
async def realtime_lifespan(app: FastAPI) -> AsyncIterator[None]:
    tracking.install(app.state.sessionmaker, app.state.events)
    yield
