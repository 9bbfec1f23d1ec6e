"""Typed results of the browser tools (service functions, `browser.*` jobs, MCP `browser` tool)."""

from __future__ import annotations

import base64
from typing import Any

from pydantic import BaseModel, Field


class NavigateResult(BaseModel):
    url: str = Field(description="the page's URL after redirects")
    status: int | None = Field(
        description="HTTP status of the main document (None when there is none, as for about:blank)"
    )
    title: str


class Snapshot(BaseModel):
    url: str
    title: str
    text: str = Field(description="the page's visible text (document.body.innerText)")
    text_truncated: bool
    outline: str = Field(
        description="the accessibility outline: one element a line (role, name, states) with the "
        'ref that click and type take, e.g. `- button "Send" [ref=e31]`'
    )
    outline_truncated: bool


class ActionResult(BaseModel):
    action: str
    selector: str | None = None
    ref: str | None = None
    url: str = Field(description="the page's URL after the action")


class EvaluateResult(BaseModel):
    value: Any = Field(description="the result, as JSON (None for undefined)")
    type: str = Field(description="its JavaScript type")


class Screenshot(BaseModel):
    png: bytes
    width: int
    height: int

    def base64(self) -> str:
        return base64.b64encode(self.png).decode()


class ScrapeResult(BaseModel):
    url: str = Field(description="the URL asked for")
    final_url: str
    status: int | None
    title: str
    text: str
    html: str
    truncated: bool = Field(description="text or html was cut at the job's limit")
