"""SQLAlchemy models. Importing this package registers every table on Base.metadata."""

from chasm.kit.db import Base
from chasm.models.accounts import Account, Membership, ServiceAccount
from chasm.models.api_keys import ApiKey
from chasm.models.audit import AuditEvent
from chasm.models.chats import Chat, ChatMessage, ChatSettings, ChatWorkspace, HarvestFile
from chasm.models.sandboxes import SandboxSession, Workspace, WorkspaceSnapshot
from chasm.models.users import User

__all__ = [
    "Base",
    "Account",
    "Membership",
    "ServiceAccount",
    "ApiKey",
    "AuditEvent",
    "User",
    "Chat",
    "ChatMessage",
    "ChatSettings",
    "ChatWorkspace",
    "HarvestFile",
    "SandboxSession",
    "Workspace",
    "WorkspaceSnapshot",
]
