"""MCP: the tool registry of `chasm.tools` over the Model Context Protocol (`POST /v1/mcp`,
streamable HTTP, and `chasm mcp serve` over stdio)."""
