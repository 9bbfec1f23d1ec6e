"""Tools for agents: one implementation shared by the MCP endpoint, `chasm mcp serve` and agents.

`build_registry(app)` gives the tools this server offers; `registry.call(app, actor, name, args)`
authorizes (scope), validates and runs one call in its own transaction, and answers a
`ToolResult` (content parts: text and images; `data`, the same facts as JSON; `is_error`).
"""

from __future__ import annotations

from typing import Any

from chasm.tools.base import (
    ImagePart,
    TextPart,
    Tool,
    ToolContext,
    ToolError,
    ToolRegistry,
    ToolResult,
    UnknownTool,
)
from chasm.tools.browser import BROWSER, BrowserService, browser_service
from chasm.tools.chats import CHAT_TOOLS
from chasm.tools.sessions import SESSION_TOOLS
from chasm.tools.terminal import TERMINAL
from chasm.tools.web import WEB_FETCH


def build_registry(app: Any) -> ToolRegistry:
    """The tools of this server: the browser tool only when a browser service is running."""
    tools: list[Tool[Any]] = [TERMINAL, WEB_FETCH, *SESSION_TOOLS, *CHAT_TOOLS]
    if browser_service(app) is not None:
        tools.insert(1, BROWSER)
    return ToolRegistry(tools)


__all__ = [
    "BrowserService",
    "ImagePart",
    "TextPart",
    "Tool",
    "ToolContext",
    "ToolError",
    "ToolRegistry",
    "ToolResult",
    "UnknownTool",
    "build_registry",
]
