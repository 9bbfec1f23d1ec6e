"""The error bodies each surface sends, as models for the OpenAPI document: spec 001's error
object (`/api/v1`), spec 003's envelope (`/api`) and OpenAI's (the OpenAI-compatible routes)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field


class ErrorDetail(BaseModel):
    loc: list[str]
    msg: str
    type: str


class Error(BaseModel):
    """Spec 001's error object (`/api/v1`): `error` is the HTTP status phrase, `code` the
    machine-readable reason; `details` lists the invalid fields of a 400."""

    error: str = Field(examples=["Not Found"])
    message: str
    code: str = Field(examples=["SESSION_NOT_FOUND"])
    details: Any = None


class ApiErrorBody(BaseModel):
    code: str = Field(examples=["NOT_FOUND"])
    message: str
    details: Any = None


class ApiError(BaseModel):
    """Spec 003's error envelope (`/api`)."""

    success: Literal[False] = False
    error: ApiErrorBody


class OpenAIErrorBody(BaseModel):
    message: str
    type: str = Field(examples=["invalid_request_error"])
    code: str | None = Field(default=None, examples=["model_not_found"])
    param: str | None = None


class OpenAIError(BaseModel):
    """OpenAI's error body, on /api/v1's OpenAI-compatible routes (/chat/completions)."""

    error: OpenAIErrorBody
