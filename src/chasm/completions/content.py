"""A request message's content parts (text and OpenAI's `image_url`) in the model layer's words,
the request's `tool_choice`, and how an image is noted in the chat library: by what it is, never
its bytes (a data: URL is megabytes of base64)."""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from typing import Any

from chasm.completions.schemas import ContentPart, MessageIn
from chasm.kit.errors import BadRequest
from chasm.providers.llm import Image, ToolChoice

# What OpenAI and Anthropic both take.
IMAGE_TYPES = ("image/png", "image/jpeg", "image/gif", "image/webp")
_DATA_URL = re.compile(r"data:(?P<type>[\w.+-]+/[\w.+-]+);base64,", re.ASCII)
NOTE_URL_CHARS = 300


def _refuse(where: str, why: str, code: str = "unsupported_content") -> BadRequest:
    return BadRequest(f"{where}: {why}", code=code)


def _image(part: ContentPart, where: str) -> Image:
    if part.image_url is None:
        raise _refuse(where, "an image_url part needs its image_url.url")
    url = part.image_url.url.strip()
    if url.startswith("data:"):
        head = _DATA_URL.match(url)
        if head is None:
            raise _refuse(where, "a data: URL image must be data:<type>;base64,<data>")
        if head["type"].lower() not in IMAGE_TYPES:
            raise _refuse(where, f"images are {', '.join(IMAGE_TYPES)}, not {head['type']}")
        try:
            base64.b64decode(url[head.end() :], validate=True)
        except (binascii.Error, ValueError):
            raise _refuse(where, "the data: URL's image is not valid base64") from None
        url = "data:" + head["type"].lower() + url[len("data:") + len(head["type"]) :]
    elif not re.match(r"https?://[^/\s]+", url, re.IGNORECASE):
        raise _refuse(where, "an image URL is a data: URL or an http(s) URL")
    return Image(url=url, detail=part.image_url.detail)


def content_of(message: MessageIn, index: int) -> tuple[str | None, list[str | Image] | None]:
    """(text, parts): the text of the message, and its parts in order when it holds images."""
    content = message.content
    if content is None or isinstance(content, str):
        return content, None
    parts: list[str | Image] = []
    for j, part in enumerate(content):
        where = f"messages.{index}.content.{j}"
        if part.type == "text" and part.text is not None:
            parts.append(part.text)
        elif part.type == "image_url" and message.role == "user":
            parts.append(_image(part, where))
        elif part.type == "image_url":
            raise _refuse(where, f"images go in user messages, not in a {message.role} message")
        else:
            raise _refuse(where, f"the parts supported are text and image_url, not {part.type!r}")
    text = "".join(p for p in parts if isinstance(p, str))
    if not any(isinstance(p, Image) for p in parts):
        return text, None
    return text, parts


def tool_choice_of(value: Any, tool_names: list[str]) -> ToolChoice | None:
    """OpenAI's tool_choice, checked against the request's tools; None when there is nothing to
    forward (no choice, or no tools and a choice that needs none)."""
    if value is None:
        return None
    if value in ("auto", "none", "required"):
        if not tool_names:
            if value == "required":
                raise _refuse("tool_choice", "'required' needs tools", code="validation_error")
            return None
        return ToolChoice(value)
    function = value.get("function") if isinstance(value, dict) else None
    name = function.get("name") if isinstance(function, dict) else None
    if not isinstance(value, dict) or value.get("type") != "function" or not isinstance(name, str):
        raise _refuse(
            "tool_choice",
            'one of "auto", "none", "required" or {"type": "function", "function": {"name": ...}}',
            code="validation_error",
        )
    if name not in tool_names:
        why = f"names the function '{name}', which is not in tools"
        raise _refuse("tool_choice", why, code="validation_error")
    return ToolChoice("tool", name)


def image_note(image: Image) -> str:
    """How the library's message text shows an image: its type, size and digest for a data: URL,
    the address for an http(s) one."""
    if not image.inline:
        url = image.url if len(image.url) <= NOTE_URL_CHARS else image.url[:NOTE_URL_CHARS] + "..."
        return f"[image: {url}]"
    return "[image: {media_type}, {bytes} bytes, sha256 {sha256}]".format(**image_facts(image))


def image_facts(image: Image) -> dict[str, Any]:
    """What the library keeps of an image (in the message's metadata)."""
    if not image.inline:
        return {"url": image.url}
    header, _, data = image.url.partition(",")
    raw = base64.b64decode(data)
    media_type = header[len("data:") :].split(";", 1)[0]
    return {"media_type": media_type, "bytes": len(raw), "sha256": hashlib.sha256(raw).hexdigest()[:16]}
