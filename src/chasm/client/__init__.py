"""The Python client of Chasm's HTTP API.

`ChasmClient` and `CommandEvent` load httpx on first use (PEP 562), so that importing the error
class (`chasm.client.errors`) costs a command line nothing."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chasm.client.errors import ChasmAPIError

if TYPE_CHECKING:
    from chasm.client.http import ChasmClient, CommandEvent

__all__ = ["ChasmAPIError", "ChasmClient", "CommandEvent"]


def __getattr__(name: str) -> Any:
    if name in ("ChasmClient", "CommandEvent"):
        from chasm.client import http

        return getattr(http, name)
    raise AttributeError(f"module 'chasm.client' has no attribute {name!r}")
