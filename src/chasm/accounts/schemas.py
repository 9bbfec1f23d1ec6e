"""Bodies and responses of /v1/accounts."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field

Role = Literal["owner", "admin", "member"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AccountOut(BaseModel):
    id: uuid.UUID
    name: str
    kind: str
    plan: str
    role: str
    created_at: datetime


class OrganizationCreate(Strict):
    name: str = Field(min_length=1, max_length=100)


class MemberOut(BaseModel):
    user_id: uuid.UUID
    email: str
    name: str | None
    role: str
    created_at: datetime


class MemberAdd(Strict):
    email: EmailStr
    role: Role = "member"


class MemberUpdate(Strict):
    role: Role


class ServiceAccountOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    description: str | None
    created_by: uuid.UUID | None
    created_at: datetime


class ServiceAccountCreate(Strict):
    name: str = Field(min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=1000)
