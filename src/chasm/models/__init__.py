"""SQLAlchemy models. Importing this package registers every table on Base.metadata."""

from chasm.kit.db import Base
from chasm.models.accounts import Account, Membership, ServiceAccount
from chasm.models.agents import Agent, AgentRun, AgentStep, Swarm, SwarmRun
from chasm.models.api_keys import ApiKey
from chasm.models.audit import AuditEvent
from chasm.models.billing import BillingProfile, SessionMeter, StripeEvent, UsageRecord, WalletEntry
from chasm.models.chats import Chat, ChatMessage, ChatSettings, ChatWorkspace, HarvestFile
from chasm.models.identity import CodexCredential, Invite, OAuthIdentity, OAuthState, RefreshToken
from chasm.models.instance import InstanceFact
from chasm.models.jobs import Job
from chasm.models.providers import ModelProvider
from chasm.models.recording import RecordingEvent, RecordingSession
from chasm.models.sandboxes import SandboxSession, Workspace, WorkspaceSnapshot
from chasm.models.semantic import ChatChunk
from chasm.models.ssh_keys import SshKey
from chasm.models.sync import SyncEntry, SyncStatus
from chasm.models.users import User
from chasm.models.webhooks import WebhookAttempt, WebhookDelivery, WebhookEndpoint, WebhookEvent

__all__ = [
    "Base",
    "Account",
    "Agent",
    "AgentRun",
    "AgentStep",
    "Swarm",
    "SwarmRun",
    "Membership",
    "ServiceAccount",
    "ApiKey",
    "AuditEvent",
    "User",
    "Job",
    "CodexCredential",
    "Invite",
    "InstanceFact",
    "OAuthIdentity",
    "OAuthState",
    "RefreshToken",
    "SshKey",
    "SyncEntry",
    "SyncStatus",
    "Chat",
    "ChatMessage",
    "ChatChunk",
    "ChatSettings",
    "ChatWorkspace",
    "HarvestFile",
    "ModelProvider",
    "RecordingEvent",
    "RecordingSession",
    "SandboxSession",
    "Workspace",
    "WorkspaceSnapshot",
    "BillingProfile",
    "SessionMeter",
    "StripeEvent",
    "UsageRecord",
    "WalletEntry",
    "WebhookAttempt",
    "WebhookDelivery",
    "WebhookEndpoint",
    "WebhookEvent",
]
