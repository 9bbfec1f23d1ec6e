"""The Python client of Chasm's HTTP API: `Chasm` (sync) and `AsyncChasm` (asyncio), over httpx.

    from chasm.client import Chasm

    with Chasm("http://127.0.0.1:8787", api_key="sk_...") as client:
        with client.sandboxes.create() as sandbox:
            print(sandbox.commands.run("echo hello").output)

The errors (`chasm.client.errors`) import nothing but the standard library; the clients load
httpx on first use (PEP 562), so that a command line naming an error class pays nothing for it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chasm.client.errors import (
    ChasmAPIError,
    ChasmClientError,
    Conflict,
    Forbidden,
    JobTimeout,
    NotFound,
    PayloadTooLarge,
    RateLimited,
    ServerError,
    StreamError,
    Unauthorized,
    ValidationError,
)

if TYPE_CHECKING:
    from chasm.client.aio import AsyncChasm
    from chasm.client.pages import Page
    from chasm.client.sync import Chasm

__all__ = [
    "AsyncChasm",
    "Chasm",
    "ChasmAPIError",
    "ChasmClientError",
    "Conflict",
    "Forbidden",
    "JobTimeout",
    "NotFound",
    "Page",
    "PayloadTooLarge",
    "RateLimited",
    "ServerError",
    "StreamError",
    "Unauthorized",
    "ValidationError",
]

LAZY = {"Chasm": "chasm.client.sync", "AsyncChasm": "chasm.client.aio", "Page": "chasm.client.pages"}


def __getattr__(name: str) -> Any:
    if name in LAZY:
        import importlib

        return getattr(importlib.import_module(LAZY[name]), name)
    raise AttributeError(f"module 'chasm.client' has no attribute {name!r}")
