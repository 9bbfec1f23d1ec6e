"""/v1/sessions/{id}/screenshot: a PNG of a browser session's page (what `chasm browser
screenshot` calls). Everything else a browser does goes through its DevTools at the gateway."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Response

from chasm.auth.actor import Actor
from chasm.auth.deps import require_scope
from chasm.auth.ratelimit import rate_limited
from chasm.browser import service
from chasm.kit.api_tags import Tag
from chasm.kit.deps import DbSession
from chasm.sandbox.runtime import SandboxRuntime, get_runtime

router = APIRouter(prefix="/v1/sessions", tags=[Tag.SANDBOX_SESSIONS])

LIMITED = [Depends(rate_limited("sessions"))]

Writer = Annotated[Actor, Depends(require_scope("sessions.write"))]
Runtime = Annotated[SandboxRuntime, Depends(get_runtime)]


@router.get(
    "/{session_id}/screenshot",
    response_class=Response,
    responses={
        200: {
            "content": {"image/png": {"schema": {"type": "string", "format": "binary"}}},
            "description": "the page as PNG",
        }
    },
    dependencies=LIMITED,
)
async def screenshot(
    session_id: str,
    actor: Writer,
    db: DbSession,
    runtime: Runtime,
    full_page: bool = False,
    target_id: str | None = None,
) -> Response:
    """A PNG of a browser session's page: the viewport, or the whole page with full_page=true."""
    row = await service.get_browser(db, actor, session_id, runtime)
    shot = await service.screenshot(runtime, row, full_page=full_page, target_id=target_id)
    return Response(shot.png, media_type="image/png")
