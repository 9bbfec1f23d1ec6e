"""Health of the server, on both chat prefixes (spec 001 and 003 shapes)."""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter, Request

from chasm import __version__
from chasm.kit.envelope import ok

router = APIRouter(tags=["System"])


@router.get("/health")
async def health(request: Request) -> dict[str, Any]:
    """Server status, version and uptime."""
    uptime = int(time.monotonic() - request.app.state.started_monotonic)
    return ok({"status": "healthy", "version": __version__, "uptime_seconds": uptime})
