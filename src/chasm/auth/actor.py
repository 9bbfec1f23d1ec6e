"""Who is calling and on behalf of which account."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime

from chasm.kit.errors import Forbidden
from chasm.models import Account


@dataclass
class Actor:
    principal_type: str  # user | service_account
    principal_id: uuid.UUID
    account: Account
    role: str  # the caller's role in the active account: owner | admin | member
    scopes: frozenset[str] | None = None  # None: full access
    via: str = "jwt"  # jwt | api_key | loopback
    api_key_id: uuid.UUID | None = None
    extra: dict[str, object] = field(default_factory=dict)
    # An administrator of the installation: may read the server's own files (host-side harvest,
    # harvest roots, server paths) and run server upkeep. Independent of the account role.
    instance_admin: bool = False
    expires_at: datetime | None = None  # the API key's expiry: a cached actor is refused after it

    @property
    def account_id(self) -> uuid.UUID:
        return self.account.id

    @property
    def user_id(self) -> uuid.UUID | None:
        return self.principal_id if self.principal_type == "user" else None

    @property
    def is_service_account(self) -> bool:
        return self.principal_type == "service_account"

    def has_scope(self, scope: str) -> bool:
        return self.scopes is None or scope in self.scopes

    @property
    def can_manage_members(self) -> bool:
        return self.principal_type == "user" and self.role in ("owner", "admin")


def require_instance_admin(actor: Actor, what: str) -> None:
    """Host-side work (the server's files, its upkeep) is for instance administrators only."""
    if not actor.instance_admin:
        raise Forbidden(f"Only an instance administrator may {what}", code="instance_admin_required")
