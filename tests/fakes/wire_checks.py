"""What the real APIs refuse with a 400 that the fake refuses too: a `tool_choice` or an image
content part in the other protocol's shape (so a request mapped wrongly fails as it would for real)."""

from __future__ import annotations

from typing import Any

_ANTHROPIC_CHOICES = ("auto", "any", "tool", "none")
_OPENAI_CHOICES = ("auto", "none", "required")


def _anthropic(body: dict[str, Any]) -> str | None:
    choice = body.get("tool_choice")
    if choice is not None:
        if not isinstance(choice, dict) or choice.get("type") not in _ANTHROPIC_CHOICES:
            return f"tool_choice: Input tag {choice!r} found using 'type' does not match any expected tag"
        if choice["type"] == "tool" and not isinstance(choice.get("name"), str):
            return "tool_choice.name: Field required"
        if not body.get("tools"):
            return "tool_choice may only be specified while providing tools"
    for message in body.get("messages") or ():
        blocks = message.get("content")
        for block in blocks if isinstance(blocks, list) else ():
            if block.get("type") == "image_url":
                return "messages: Input tag 'image_url' does not match any of the expected tags"
            if block.get("type") != "image":
                continue
            source = block.get("source") or {}
            if source.get("type") == "base64":
                if source.get("media_type") not in ("image/png", "image/jpeg", "image/gif", "image/webp"):
                    return "image.source.base64.media_type: Input should be one of image/*"
                if not isinstance(source.get("data"), str) or "," in source["data"]:
                    return "image.source.base64.data: invalid base64 data"
            elif source.get("type") != "url" or not str(source.get("url", "")).startswith("http"):
                return f"image.source: invalid source {source!r}"
    return None


def _openai(body: dict[str, Any]) -> str | None:
    choice = body.get("tool_choice")
    if choice is not None:
        named = isinstance(choice, dict) and choice.get("type") == "function"
        if choice not in _OPENAI_CHOICES and not named:
            return f"Invalid value for 'tool_choice': {choice!r}"
        if not body.get("tools"):
            return "Invalid value for 'tool_choice': only allowed when 'tools' are specified."
    for message in body.get("messages") or ():
        parts = message.get("content")
        for part in parts if isinstance(parts, list) else ():
            url = (part.get("image_url") or {}).get("url")
            if part.get("type") == "image_url" and not isinstance(url, str):
                return "Invalid image_url part: url required"
            if part.get("type") == "image":
                return "Invalid content part type 'image'"
    return None


def refusal(body: dict[str, Any] | None, anthropic: bool) -> str | None:
    """The API's 400 message for this request, or None when it is well formed."""
    if not isinstance(body, dict):
        return None
    return _anthropic(body) if anthropic else _openai(body)
