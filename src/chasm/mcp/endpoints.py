"""`POST /v1/mcp`: MCP over streamable HTTP, behind the bearer key and the `mcp` rate limit.

Scopes are checked per tool call (`tools/list` needs any valid key): see `chasm.tools`."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response
from starlette.types import Message, Receive, Scope, Send

from chasm.auth.deps import CurrentActor
from chasm.auth.ratelimit import rate_limited
from chasm.kit.api_tags import Tag
from chasm.kit.errors import ChasmError

router = APIRouter(prefix="/v1", tags=[Tag.MCP])
LIMITED = [Depends(rate_limited("mcp"))]


class MCPResponse(Response):
    """Hands the request to the SDK's session manager, adding the headers the dependencies set
    (the rate-limit ones) to the SDK's answer."""

    def __init__(self, manager: object, headers: list[tuple[bytes, bytes]] | None = None) -> None:
        super().__init__()
        self.manager = manager
        self.extra = [(k, v) for k, v in headers or [] if k not in (b"content-length", b"content-type")]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        extra = self.extra

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        await self.manager.handle_request(scope, receive, send_with_headers)  # type: ignore[attr-defined]


JSONRPC_ID = {"anyOf": [{"type": "string"}, {"type": "integer"}, {"type": "null"}]}
JSONRPC_MESSAGE = {
    "type": "object",
    "required": ["jsonrpc"],
    "properties": {"jsonrpc": {"const": "2.0"}, "id": JSONRPC_ID, "method": {"type": "string"}, "params": {}},
    "description": "A JSON-RPC 2.0 request or notification (initialize, ping, notifications/initialized, "
    "tools/list, tools/call)",
}
JSONRPC_ANSWER = {
    "type": "object",
    "required": ["jsonrpc", "id"],
    "properties": {
        "jsonrpc": {"const": "2.0"},
        "id": JSONRPC_ID,
        "result": {"type": "object"},
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {"code": {"type": "integer"}, "message": {"type": "string"}, "data": {}},
        },
    },
    "description": "A JSON-RPC 2.0 response: `result`, or `error`",
}


@router.post(
    "/mcp",
    dependencies=LIMITED,
    response_class=MCPResponse,
    status_code=200,
    responses={
        200: {
            "description": "The JSON-RPC answer",
            "content": {"application/json": {"schema": JSONRPC_ANSWER}},
        },
        202: {"description": "A notification was accepted (no body)"},
        406: {"description": "The client does not accept application/json"},
    },
    openapi_extra={
        "requestBody": {"required": True, "content": {"application/json": {"schema": JSONRPC_MESSAGE}}}
    },
)
async def mcp_endpoint(request: Request, response: Response, actor: CurrentActor) -> Response:
    """MCP JSON-RPC (initialize, ping, tools/list, tools/call) over streamable HTTP."""
    manager = getattr(request.app.state, "mcp", None)
    if manager is None:
        raise ChasmError("The MCP server is not running", status_code=503, code="mcp_unavailable")
    return MCPResponse(manager, response.raw_headers)  # `response` carries the rate-limit headers
