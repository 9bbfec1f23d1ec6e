"""Bodies and responses of /auth."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, EmailStr, Field


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RegisterIn(Strict):
    email: EmailStr
    password: str = Field(min_length=8, max_length=1024)
    name: str | None = Field(default=None, max_length=200)
    invite_code: str | None = Field(default=None, max_length=200)  # needed in `invite` mode


class LoginIn(Strict):
    email: str = Field(min_length=1, max_length=320)
    password: str = Field(min_length=1, max_length=1024)


class RefreshIn(Strict):
    refresh_token: str = Field(min_length=1, max_length=512)


class TokenPair(BaseModel):
    access_token: str
    refresh_token: str
    token_type: str = "bearer"
    expires_in: int


class OAuthProviderOut(BaseModel):
    name: str  # google | github
    login_url: str  # add ?dashboard=true to end the flow at the web dashboard


class OAuthProviders(BaseModel):
    providers: list[OAuthProviderOut]


class UserOut(BaseModel):
    id: uuid.UUID
    email: str
    name: str | None
    email_verified: bool
    created_at: datetime
    last_login_at: datetime | None


class Registered(TokenPair):
    user: UserOut


class AccountRole(BaseModel):
    id: uuid.UUID
    name: str
    kind: str
    role: str


class MeOut(BaseModel):
    principal_type: str
    user: UserOut | None
    service_account_id: uuid.UUID | None
    active_account: AccountRole
    accounts: list[AccountRole]
    instance_admin: bool = False  # may read the server's own files and run its upkeep


class CodexLoginUrl(BaseModel):
    url: str
    state: str
    code_verifier: str


class CodexCallbackIn(Strict):
    callback_url: str | None = Field(default=None, max_length=8192)
    code: str | None = Field(default=None, max_length=4096)
    state: str | None = Field(default=None, max_length=256)


class CodexConnected(BaseModel):
    connected: bool = True
    email: str | None
    account_id: str | None
    expires_at: datetime | None


class InviteCreate(Strict):
    note: str | None = Field(default=None, max_length=200)
    expires_in_days: int = Field(default=7, ge=1, le=365)


class InviteOut(BaseModel):
    id: uuid.UUID
    note: str | None
    created_at: datetime
    expires_at: datetime
    used_at: datetime | None
    used_by: uuid.UUID | None


class InviteCreated(InviteOut):
    code: str  # shown only in this answer
