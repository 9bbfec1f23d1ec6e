"""The permission scopes of spec 002. A key without scopes has full access."""

SCOPES: tuple[str, ...] = (
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
