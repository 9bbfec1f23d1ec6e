"""The served OpenAPI's tags: one per operation, named by the router that declares it.

Every router declares exactly one of these (`APIRouter(prefix=..., tags=[Tag.X])`,
`ChatRouter(tag=Tag.X)`); a route never adds its own (FastAPI would append it, giving two). The chat
surfaces use spec 001's tags exactly (003's Recording API adds one); the platform's are the
section names of spec 002 in Title Case, "Sandbox" prefixed where 001 already uses the word for
a chat thing (a session, a workspace). Order and descriptions: the OpenAPI's top-level `tags`.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any


class Tag(StrEnum):
    # Spec 001 (chat surfaces /api/v1 and /api), names and order as its `tags` list.
    HEALTH = "Health"
    SYSTEM = "System"
    WORKSPACES = "Workspaces"
    SESSIONS = "Sessions"
    PROVIDERS = "Providers"
    AGENTS = "Agents"
    SWARMS = "Swarms"
    CHAT = "Chat"
    SEARCH = "Search"
    STATISTICS = "Statistics"
    SETTINGS = "Settings"
    # Spec 003 (its "Recording API" section), and the library's secret scanner (no spec section).
    RECORDING = "Recording"
    SECRETS = "Secrets"
    # Spec 002 (the platform, /v1, /auth, /s), its sections in order.
    SANDBOX_SESSIONS = "Sandbox Sessions"
    SESSION_GATEWAY = "Session Gateway"
    EXECUTION = "Execution"
    FILE_TRANSFER = "File Transfer"
    SANDBOX_WORKSPACES = "Sandbox Workspaces"
    JOBS = "Jobs"
    ACCOUNTS = "Accounts"
    INVITES = "Invites"
    API_KEYS = "API Keys"
    SSH_KEYS = "SSH Keys"
    WEBHOOKS = "Webhooks"
    BILLING = "Billing"
    AUDIT = "Audit"
    MCP = "MCP"
    AUTH = "Auth"


DESCRIPTIONS: dict[Tag, str] = {
    Tag.HEALTH: "System health checks",
    Tag.SYSTEM: "System management operations",
    Tag.WORKSPACES: "Workspace management (chat workspaces: project folders whose chats were harvested)",
    Tag.SESSIONS: "Chat session management",
    Tag.PROVIDERS: "AI provider configuration",
    Tag.AGENTS: "AI agent management",
    Tag.SWARMS: "Agent swarm orchestration",
    Tag.CHAT: "Chat completions",
    Tag.SEARCH: "Search operations",
    Tag.STATISTICS: "Usage statistics",
    Tag.SETTINGS: "Application settings",
    Tag.RECORDING: "Live recording of chats, with crash recovery (spec 003, /api only)",
    Tag.SECRETS: "Secrets found in the library's chats, and their redaction",
    Tag.SANDBOX_SESSIONS: "Sandbox and browser sessions: isolated machines, their terminal",
    Tag.SESSION_GATEWAY: "A session's services and DevTools through /s/{session_id}/",
    Tag.EXECUTION: "Commands run in sandbox sessions",
    Tag.FILE_TRANSFER: "Files into and out of a sandbox session",
    Tag.SANDBOX_WORKSPACES: "Persistent disks of sandbox sessions, and their snapshots",
    Tag.JOBS: "Background jobs",
    Tag.ACCOUNTS: "Accounts, organizations, members and service accounts",
    Tag.INVITES: "Invitations into an organization",
    Tag.API_KEYS: "API keys",
    Tag.SSH_KEYS: "SSH keys",
    Tag.WEBHOOKS: "Webhooks and their deliveries",
    Tag.BILLING: "Billing",
    Tag.AUDIT: "Audit events",
    Tag.MCP: "Model Context Protocol endpoint",
    Tag.AUTH: "Sign-in, tokens and OAuth",
}


def openapi_tags() -> list[dict[str, Any]]:
    """FastAPI's `openapi_tags`: every tag, in order, with its description."""
    return [{"name": tag.value, "description": DESCRIPTIONS[tag]} for tag in Tag]
