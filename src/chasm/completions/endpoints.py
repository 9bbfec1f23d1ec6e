"""`POST /chat/completions` (spec 001, OpenAI-compatible) on /api/v1, where errors are OpenAI's
error body (what its SDKs read), and on /api."""

from __future__ import annotations

from typing import Annotated

from fastapi import Header
from fastapi.responses import StreamingResponse

from chasm.auth.deps import ChatWriter, SessionMaker
from chasm.completions import service
from chasm.completions.schemas import ChatCompletionRequest, ChatCompletionResponse
from chasm.kit.api_tags import Tag
from chasm.kit.surface import ChatRouter, Surface

routes = ChatRouter(tag=Tag.CHAT)
CONVERSATION_HEADER = "X-Chasm-Conversation-Id"

ConversationId = Annotated[
    str | None,
    Header(
        alias=CONVERSATION_HEADER,
        max_length=300,
        description="Append this completion to the chat of that conversation (else a new chat)",
    ),
]


@routes.post(
    "/chat/completions",
    model=ChatCompletionResponse,
    v1_surface=Surface.OPENAI,
    responses={200: {"content": {"text/event-stream": {}}, "description": "With `stream: true`: SSE chunks"}},
)
async def chat_completions(
    actor: ChatWriter, maker: SessionMaker, body: ChatCompletionRequest, conversation: ConversationId = None
) -> ChatCompletionResponse | StreamingResponse:
    """OpenAI-compatible chat completion, recorded in the library as a chat (provider `chasm`)."""
    if body.stream:
        prepared, frames = await service.open_stream(maker, actor, body, conversation)
        headers = {CONVERSATION_HEADER: prepared.conversation_id, "Cache-Control": "no-cache"}
        return StreamingResponse(frames, media_type="text/event-stream", headers=headers)
    return await service.complete(maker, actor, body, conversation)
