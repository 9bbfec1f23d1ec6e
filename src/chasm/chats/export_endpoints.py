"""Export route of spec 001: GET /sessions/{id}/export?format=json|markdown|html|pdf, the same file
on both surfaces."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import Path, Query
from fastapi.responses import Response

from chasm.auth.deps import ChatReader
from chasm.chats.export import export_chat
from chasm.kit.api_tags import Tag
from chasm.kit.deps import DbSession
from chasm.kit.surface import ChatRouter

# The file itself on both surfaces (001 declares no envelope for it): no payload model.
routes = ChatRouter(tag=Tag.SESSIONS)


@routes.get(
    "/sessions/{id}/export",
    model=None,
    response_class=Response,
    responses={
        200: {
            "description": "The exported chat as a file",
            "content": {
                "application/json": {},
                "text/markdown": {},
                "text/html": {},
                "application/pdf": {"schema": {"type": "string", "format": "binary"}},
            },
        }
    },
)
async def export_session(
    actor: ChatReader,
    db: DbSession,
    session_id: Annotated[str, Path(alias="id", description="The chat (session) id")],
    format: Annotated[str, Query(description="json, markdown (md), html or pdf")] = "json",  # noqa: A002
    download: Annotated[bool, Query(description="Send as an attachment rather than inline")] = True,
) -> Response:
    """The chat with all its messages as JSON, Markdown, a self-contained HTML page or a PDF."""
    content, media_type, filename = await export_chat(
        db, actor.account_id, session_id, format, host_paths=actor.instance_admin
    )
    disposition = "attachment" if download else "inline"
    header = f"{disposition}; filename=\"{filename}\"; filename*=UTF-8''{quote(filename)}"
    return Response(content, media_type=media_type, headers={"Content-Disposition": header})
