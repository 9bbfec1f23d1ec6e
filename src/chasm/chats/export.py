"""Export one chat as JSON, Markdown, a self-contained HTML page or a PDF.

`export_chat` is the one entry point, shared by the HTTP endpoint and `chasm chats export`.
"""

from __future__ import annotations

import json
import re
import unicodedata
import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from chasm.chats import export_html, export_pdf
from chasm.chats.export_document import ChatDocument, load_document, tool_call_text
from chasm.chats.service import chat_out, message_out
from chasm.kit.errors import BadRequest
from chasm.kit.timeutil import iso, utcnow

FORMATS = ("json", "markdown", "html", "pdf")
_ALIASES = {
    "md": "markdown",
    "htm": "html",
    "json": "json",
    "markdown": "markdown",
    "html": "html",
    "pdf": "pdf",
}
MEDIA_TYPES = {
    "json": "application/json",
    "markdown": "text/markdown; charset=utf-8",
    "html": "text/html; charset=utf-8",
    "pdf": "application/pdf",
}
EXTENSIONS = {"json": "json", "markdown": "md", "html": "html", "pdf": "pdf"}


def normalise_format(fmt: str) -> str:
    found = _ALIASES.get(fmt.strip().lower())
    if found is None:
        raise BadRequest(f"Unknown export format '{fmt}'; use one of: {', '.join(FORMATS)}")
    return found


def filename_for(doc: ChatDocument, fmt: str) -> str:
    ascii_title = unicodedata.normalize("NFKD", doc.title).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^A-Za-z0-9]+", "-", ascii_title).strip("-").lower()[:60] or "chat"
    return f"{slug}-{str(doc.chat.id)[:8]}.{EXTENSIONS[fmt]}"


def chat_dict(doc: ChatDocument) -> dict[str, Any]:
    """The chat as the API returns it, with its workspace's name and path."""
    workspace = {"name": doc.workspace.name, "path": doc.workspace.path} if doc.workspace else None
    return {
        **chat_out(doc.chat, host_paths=doc.host_paths).model_dump(mode="json"),
        "workspace": workspace,
        "message_count": len(doc.messages),
    }


def render_json(doc: ChatDocument) -> bytes:
    payload = {
        "format": "chasm.chat",
        "version": 1,
        "exported_at": iso(utcnow()),
        "session": chat_dict(doc),
        "messages": [message_out(m).model_dump(mode="json") for m in doc.messages],
    }
    return json.dumps(payload, ensure_ascii=False, indent=2).encode()


def _fence(text: str, lang: str = "") -> str:
    ticks = "```"
    while ticks in text:
        ticks += "`"
    return f"{ticks}{lang}\n{text}\n{ticks}"


def render_markdown(doc: ChatDocument) -> bytes:
    chat = doc.chat
    lines = [f"# {doc.title}", ""]
    facts = [("Provider", chat.provider), ("Model", chat.model), ("Started", iso(chat.started_at))]
    if doc.workspace:
        facts.append(("Workspace", f"{doc.workspace.name} ({doc.workspace.path})"))
    facts.append(("Messages", str(len(doc.messages))))
    lines += [f"- **{k}:** {v}" for k, v in facts if v]
    lines.append("")
    for message in doc.messages:
        when = f" · {iso(message.created_at)}" if message.created_at else ""
        model = f" · {message.model}" if message.model and message.role == "assistant" else ""
        lines += ["---", "", f"## {message.role.capitalize()}{model}{when}", ""]
        if message.thinking:
            lines += [
                "<details><summary>Thinking</summary>",
                "",
                _fence(message.thinking),
                "",
                "</details>",
                "",
            ]
        if message.content:
            lines += [message.content, ""]
        for call in message.tool_calls or []:
            name = call.get("name") or "tool"
            lines += [
                f"<details><summary>Tool call: {name}</summary>",
                "",
                _fence(tool_call_text(call.get("input")), "json"),
            ]
            if call.get("output") is not None:
                label = "Error" if call.get("is_error") else "Result"
                lines += ["", f"{label}:", "", _fence(tool_call_text(call.get("output")))]
            lines += ["", "</details>", ""]
    return "\n".join(lines).encode()


async def export_chat(
    db: AsyncSession,
    account_id: uuid.UUID,
    chat_id: str | uuid.UUID,
    fmt: str,
    *,
    host_paths: bool = True,
) -> tuple[bytes, str, str]:
    """The chat rendered in `fmt`: (content, media type, file name)."""
    fmt = normalise_format(fmt)
    doc = await load_document(db, account_id, chat_id)
    doc.host_paths = host_paths
    renderers = {
        "json": render_json,
        "markdown": render_markdown,
        "html": export_html.render_html,
        "pdf": export_pdf.render_pdf,
    }
    return renderers[fmt](doc), MEDIA_TYPES[fmt], filename_for(doc, fmt)
