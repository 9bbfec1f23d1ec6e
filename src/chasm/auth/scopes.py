"""The permission scopes of spec 002, and those of the chat surface (/api, /api/v1). A key without
scopes has full access."""

PLATFORM_SCOPES: tuple[str, ...] = (
    "sessions.read",
    "sessions.write",
    "workspaces.read",
    "workspaces.write",
    "exec.write",
    "files.read",
    "files.write",
    "keys.read",
    "keys.write",
    "billing.read",
    "billing.write",
    "audit.read",
    "webhooks.read",
    "webhooks.write",
)

# The chat library: reading it, changing it, filling it (harvest, upload), its settings, and the
# server upkeep reachable from it (vacuum, cache clearing; these also need an instance administrator).
CHAT_SCOPES: tuple[str, ...] = (
    "chats.read",
    "chats.write",
    "harvest.run",
    "settings.write",
    "system.admin",
)

# Beyond 002's list: deleting the audit trail (audit.prune) is not a read.
EXTRA_PLATFORM_SCOPES: tuple[str, ...] = ("audit.write",)

SCOPES: tuple[str, ...] = PLATFORM_SCOPES + EXTRA_PLATFORM_SCOPES + CHAT_SCOPES
