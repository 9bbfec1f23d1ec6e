"""A chat as a PDF rendered with fpdf2 from the same content as the other formats.

Unicode needs a TrueType font: DejaVu (Debian's fonts-dejavu-core) when installed. Without it the
built-in Helvetica/Courier are used and text outside Latin-1 is replaced by '?'."""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

from fpdf import FPDF
from fpdf.enums import XPos, YPos

from chasm.chats.export_document import ChatDocument, tool_call_text
from chasm.kit import caches
from chasm.kit.timeutil import iso

FONT_DIRS = (
    Path("/usr/share/fonts/truetype/dejavu"),
    Path("/usr/share/fonts/dejavu"),
    Path("/usr/share/fonts/TTF"),
    Path("/usr/local/share/fonts"),
    Path("/Library/Fonts"),
)
FONT_FILES = {
    ("sans", ""): "DejaVuSans.ttf",
    ("sans", "B"): "DejaVuSans-Bold.ttf",
    ("mono", ""): "DejaVuSansMono.ttf",
}
MAX_BLOCK_CHARS = 20_000  # one tool output can be megabytes; the PDF keeps its start
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_FENCE = re.compile(r"^(`{3,}|~{3,})[^\n]*\n(.*?)^\1[ \t]*$", re.DOTALL | re.MULTILINE)


@lru_cache(maxsize=1)
def unicode_fonts() -> dict[tuple[str, str], Path] | None:
    """Paths of the DejaVu faces, or None when any is missing."""
    found: dict[tuple[str, str], Path] = {}
    for key, name in FONT_FILES.items():
        path = next((d / name for d in FONT_DIRS if (d / name).is_file()), None)
        if path is None:
            return None
        found[key] = path
    return found


caches.register_lru("chats.export.pdf_fonts", unicode_fonts)


class _ChatPdf(FPDF):
    def __init__(self, title: str) -> None:
        super().__init__(format="A4")
        self.chat_title = title
        self.set_margins(18, 18, 18)
        self.set_auto_page_break(auto=True, margin=18)
        fonts = unicode_fonts()
        self.has_unicode = fonts is not None
        if fonts is not None:
            self.add_font("chat-sans", "", str(fonts[("sans", "")]))
            self.add_font("chat-sans", "B", str(fonts[("sans", "B")]))
            self.add_font("chat-mono", "", str(fonts[("mono", "")]))
            self.sans, self.mono = "chat-sans", "chat-mono"
        else:
            self.sans, self.mono = "helvetica", "courier"
        self.set_title(self.clean(title))
        self.set_creator("Chasm")

    def clean(self, value: str) -> str:
        value = _CONTROL.sub("", value.replace("\t", "    "))
        return value if self.has_unicode else value.encode("latin-1", "replace").decode("latin-1")

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font(self.sans, "", 8)
        self.set_text_color(120)
        self.cell(0, 6, f"{self.page_no()}", align="C")

    def paragraph(self, value: str, size: float = 10, style: str = "", color: int = 30) -> None:
        self.set_font(self.sans, style, size)
        self.set_text_color(color)
        self.multi_cell(0, size * 0.5, self.clean(value), new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    def code(self, value: str, size: float = 8.5) -> None:
        if len(value) > MAX_BLOCK_CHARS:
            value = value[:MAX_BLOCK_CHARS] + f"\n… ({len(value) - MAX_BLOCK_CHARS} more characters)"
        self.set_font(self.mono, "", size)
        self.set_text_color(40)
        self.set_fill_color(244, 246, 248)
        self.multi_cell(0, size * 0.5, self.clean(value), fill=True, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.ln(1.5)

    def rich(self, value: str) -> None:
        """Markdown-ish content: fenced code blocks in the mono face, the rest as paragraphs."""
        position = 0
        for match in _FENCE.finditer(value):
            before = value[position : match.start()].strip("\n")
            if before:
                self.paragraph(before)
            self.code(match.group(2).rstrip("\n"))
            position = match.end()
        rest = value[position:].strip("\n")
        if rest:
            self.paragraph(rest)


def render_pdf(doc: ChatDocument) -> bytes:
    chat = doc.chat
    pdf = _ChatPdf(doc.title)
    pdf.add_page()
    pdf.paragraph(doc.title, size=17, style="B", color=10)
    facts = [("Provider", chat.provider), ("Model", chat.model), ("Started", iso(chat.started_at))]
    if doc.workspace:
        facts.append(("Workspace", doc.workspace.path))
    facts.append(("Messages", str(len(doc.messages))))
    pdf.paragraph("   ".join(f"{k}: {v}" for k, v in facts if v), size=9, color=100)
    pdf.ln(3)
    for message in doc.messages:
        header = message.role.capitalize()
        if message.model and message.role == "assistant":
            header += f" · {message.model}"
        if message.created_at:
            header += f" · {iso(message.created_at)}"
        pdf.set_draw_color(208, 215, 222)
        pdf.line(pdf.l_margin, pdf.get_y(), pdf.w - pdf.r_margin, pdf.get_y())
        pdf.ln(2)
        pdf.paragraph(header, size=10, style="B", color=20)
        if message.thinking:
            pdf.paragraph("Thinking:", size=8.5, style="B", color=110)
            pdf.paragraph(message.thinking, size=8.5, color=110)
        if message.content:
            pdf.rich(message.content)
        for call in message.tool_calls or []:
            pdf.paragraph(f"Tool call: {call.get('name') or 'tool'}", size=9, style="B", color=60)
            if call.get("input") is not None:
                pdf.code(tool_call_text(call["input"]))
            if call.get("output") is not None:
                pdf.paragraph("Error:" if call.get("is_error") else "Result:", size=8.5, color=90)
                pdf.code(tool_call_text(call["output"]))
        pdf.ln(2)
    return bytes(pdf.output())
