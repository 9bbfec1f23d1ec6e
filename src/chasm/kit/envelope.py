"""The chat surface's response envelope: {"success": true, "data": ...}."""

from __future__ import annotations

from typing import Any


def ok(data: Any, **extra: Any) -> dict[str, Any]:
    return {"success": True, "data": data, **extra}
