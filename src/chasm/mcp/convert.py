"""Between the tool layer's values and MCP's: tool descriptions, results, errors."""

from __future__ import annotations

import base64
from typing import Any

import mcp_types as types
from mcp.shared.exceptions import MCPError

from chasm.kit.errors import ChasmError
from chasm.tools import ImagePart, TextPart, Tool, ToolResult

# JSON-RPC server-error codes (the -32000..-32099 range is the server's to define).
INSUFFICIENT_SCOPE = -32001


def mcp_tool(tool: Tool[Any]) -> types.Tool:
    annotations = types.ToolAnnotations(title=tool.title, read_only_hint=tool.read_only or None)
    return types.Tool(
        name=tool.name,
        title=tool.title,
        description=tool.description,
        input_schema=tool.input_schema(),
        annotations=annotations,
    )


def call_result(result: ToolResult) -> types.CallToolResult:
    content: list[types.ContentBlock] = []
    for part in result.content:
        if isinstance(part, TextPart):
            content.append(types.TextContent(text=part.text))
        elif isinstance(part, ImagePart):
            content.append(
                types.ImageContent(data=base64.b64encode(part.data).decode(), mime_type=part.mime_type)
            )
    return types.CallToolResult(content=content, structured_content=result.data, is_error=result.is_error)


def protocol_error(exc: ChasmError) -> MCPError:
    """A refusal that is the caller's mistake, not the tool's: a JSON-RPC error."""
    code = INSUFFICIENT_SCOPE if exc.status_code == 403 else types.INVALID_PARAMS
    return MCPError(code, exc.message, {"code": exc.code, "status": exc.status_code})
