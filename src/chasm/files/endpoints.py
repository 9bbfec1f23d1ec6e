"""/v1/sessions/{id}/upload and /download."""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from pydantic import BaseModel

from chasm.auth.actor import Actor
from chasm.auth.deps import require_scope
from chasm.auth.ratelimit import rate_limited
from chasm.files import service
from chasm.kit.api_tags import Tag
from chasm.kit.deps import DbSession
from chasm.sandbox.runtime import SandboxRuntime, get_runtime
from chasm.sessions import service as sessions

LIMITED = [Depends(rate_limited("files"))]

router = APIRouter(prefix="/v1/sessions/{session_id}", tags=[Tag.FILE_TRANSFER])

Runtime = Annotated[SandboxRuntime, Depends(get_runtime)]


class UploadOut(BaseModel):
    path: str
    size: int


@router.post("/upload", response_model=UploadOut, dependencies=LIMITED)
async def upload(
    session_id: str,
    request: Request,
    actor: Annotated[Actor, Depends(require_scope("files.write"))],
    db: DbSession,
    runtime: Runtime,
) -> UploadOut:
    """Upload a file (multipart fields `path` and `file`, 16 MB at most)."""
    row = await sessions.get_running(db, actor, session_id, runtime, session_type="sandbox")
    length = request.headers.get("content-length")
    path, size = await service.upload(
        db,
        actor,
        runtime,
        row,
        request.headers.get("content-type", ""),
        int(length) if length and length.isdigit() else None,
        request.stream(),
    )
    return UploadOut(path=path, size=size)


@router.get(
    "/download",
    response_class=Response,
    dependencies=LIMITED,
    responses={
        200: {
            "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
            "description": "the file's bytes",
        }
    },
)
async def download(
    session_id: str,
    path: str,
    actor: Annotated[Actor, Depends(require_scope("files.read"))],
    db: DbSession,
    runtime: Runtime,
) -> Response:
    """Download a file from the session."""
    row = await sessions.get_running(db, actor, session_id, runtime, session_type="sandbox")
    final, data, content_type = await service.download(runtime, row, path)
    name = quote(PurePosixPath(final).name)
    return Response(
        data, media_type=content_type, headers={"Content-Disposition": f"attachment; filename*=UTF-8''{name}"}
    )
