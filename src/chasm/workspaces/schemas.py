from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from chasm.kit.types import JsonBool


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class WorkspaceCreate(Strict):
    session_type: Literal["sandbox", "browser"] = "sandbox"
    name: str | None = Field(default=None, max_length=64)
    image: str | None = Field(default=None, max_length=300)
    template: JsonBool = False
    clone_from: str | None = None


class WorkspaceImport(Strict):
    github_repo: str = Field(min_length=1, max_length=1000)
    name: str | None = Field(default=None, max_length=64)
    ref: str | None = Field(default=None, max_length=200)


class WorkspaceName(Strict):
    name: str | None = Field(default=None, max_length=64)


class WorkspaceTemplate(Strict):
    template: JsonBool


class BulkDelete(Strict):
    workspaces: list[str] = Field(min_length=1, max_length=500)
    force: JsonBool = False


class SnapshotCreate(Strict):
    name: str | None = Field(default=None, max_length=100)


class WorkspaceOut(BaseModel):
    id: str
    name: str
    session_type: str
    image: str | None
    template: bool
    source_workspace_id: str | None
    github_repo: str | None
    assistant_home: bool
    active_session_id: str | None
    last_session_id: str | None
    status: str
    status_detail: str | None
    size_bytes: int
    quota_bytes: int
    created_at: datetime


class SnapshotOut(BaseModel):
    id: str
    name: str
    workspace_id: str
    size_bytes: int
    stored_bytes: int
    file_count: int
    created_at: datetime
