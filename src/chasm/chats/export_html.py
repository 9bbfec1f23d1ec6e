"""A chat as one self-contained HTML page: inline CSS, Pygments-highlighted code with inline styles,
thinking and tool calls in collapsible <details>. Chat text never becomes markup: Markdown is
rendered with raw HTML disabled and every other string is escaped."""

from __future__ import annotations

import html
from typing import Any

from markdown_it import MarkdownIt
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import get_lexer_by_name, guess_lexer
from pygments.util import ClassNotFound

from chasm.chats.export_document import ChatDocument, tool_call_text
from chasm.kit.timeutil import iso

_FORMATTER = HtmlFormatter(noclasses=True, nowrap=True, style="friendly")

CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;max-width:52rem;margin:2rem auto;
padding:0 1rem;color:#1f2328;background:#fff;line-height:1.55}
header{border-bottom:1px solid #d0d7de;margin-bottom:1.5rem}header h1{margin:.2rem 0 .4rem}
.facts{color:#59636e;font-size:.9rem;margin:0 0 1rem;padding:0;list-style:none}
.facts li{display:inline;margin-right:1.2rem}
.message{border:1px solid #d0d7de;border-radius:8px;margin:1rem 0;padding:.2rem 1rem .6rem}
.message.user{background:#f6f8fa}.message.system{background:#fff8c5}.message.tool{background:#f0f6ff}
.meta{font-size:.8rem;color:#59636e;margin:.5rem 0}
.role{font-weight:600;text-transform:capitalize;color:#1f2328}
pre{background:#f6f8fa;border:1px solid #d0d7de;border-radius:6px;padding:.7rem;overflow-x:auto;
font-size:.85rem;line-height:1.4}code{font-family:ui-monospace,"DejaVu Sans Mono",Menlo,Consolas,monospace}
details{margin:.5rem 0;border-left:3px solid #8c959f;padding-left:.7rem}
summary{cursor:pointer;color:#59636e;font-size:.9rem}details.error{border-left-color:#cf222e}
table{border-collapse:collapse}td,th{border:1px solid #d0d7de;padding:.2rem .5rem}
"""


def _highlight(code: str, lang: str, _attrs: Any = None) -> str:
    try:
        lexer = get_lexer_by_name(lang) if lang else guess_lexer(code)
    except ClassNotFound:
        return ""  # markdown-it then escapes the code itself
    return highlight(code, lexer, _FORMATTER)


_MD = MarkdownIt("commonmark", {"html": False, "linkify": False, "highlight": _highlight}).enable("table")


def _code_block(text: str, lang: str = "") -> str:
    body = _highlight(text, lang) if lang else ""
    return f"<pre><code>{body or html.escape(text)}</code></pre>"


def _tool_call(call: dict[str, Any]) -> str:
    name = html.escape(str(call.get("name") or "tool"))
    parts = [f"<summary>Tool call: <code>{name}</code></summary>"]
    if call.get("input") is not None:
        raw = call["input"]
        parts.append(_code_block(tool_call_text(raw), "" if isinstance(raw, str) else "json"))
    if call.get("output") is not None:
        label = "Error" if call.get("is_error") else "Result"
        parts.append(f"<div class=meta>{label}</div>" + _code_block(tool_call_text(call["output"])))
    css = "tool error" if call.get("is_error") else "tool"
    return f'<details class="{css}">' + "".join(parts) + "</details>"


def render_html(doc: ChatDocument) -> bytes:
    chat = doc.chat
    title = html.escape(doc.title)
    facts = [("Provider", chat.provider), ("Model", chat.model), ("Started", iso(chat.started_at))]
    if doc.workspace:
        facts.append(("Workspace", doc.workspace.path))
    facts.append(("Messages", str(len(doc.messages))))
    fact_items = "".join(f"<li><b>{k}:</b> {html.escape(str(v))}</li>" for k, v in facts if v)
    out = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{title}</title><style>{CSS}</style></head><body>",
        f"<header><h1>{title}</h1><ul class=facts>{fact_items}</ul></header><main>",
    ]
    for message in doc.messages:
        role = html.escape(message.role)
        meta = [f"<span class=role>{role}</span>"]
        if message.model and message.role == "assistant":
            meta.append(html.escape(message.model))
        if message.created_at:
            stamp = iso(message.created_at) or ""
            meta.append(f'<time datetime="{html.escape(stamp)}">{html.escape(stamp)}</time>')
        out.append(f'<section class="message {role}"><div class=meta>{" · ".join(meta)}</div>')
        if message.thinking:
            out.append(
                '<details class="thinking"><summary>Thinking</summary>'
                f"{_MD.render(message.thinking)}</details>"
            )
        if message.content:
            out.append(f'<div class="content">{_MD.render(message.content)}</div>')
        out.extend(_tool_call(call) for call in message.tool_calls or [])
        out.append("</section>")
    out.append("</main></body></html>")
    return "\n".join(out).encode()
