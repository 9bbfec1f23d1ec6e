"""Every export format opened and checked: JSON parsed, Markdown read, HTML parsed, PDF text extracted."""

from __future__ import annotations

import io
import json
from html.parser import HTMLParser

import httpx
import pytest
from fastapi import FastAPI
from pypdf import PdfReader

from chasm.chats.export import export_chat
from search.factories import make_chat, make_workspace, other_account_id, owner_account_id

XSS = "<script>alert('pwned')</script><img src=x onerror=alert(1)>"
MESSAGES = [
    {"role": "user", "content": f"Why does the cache miss? Zürich naïve café — {XSS}"},
    {
        "role": "assistant",
        "content": "Look at this function:\n\n"
        "```python\ndef lookup(key):\n    return CACHE[key]\n```\n\nDone.",
        "thinking": "The user wants the lookup path explained.",
        "tool_calls": [
            {
                "id": "t1",
                "name": "read_file",
                "input": {"path": "cache.py"},
                "output": "CACHE = {}",
                "is_error": False,
            },
            {"id": "t2", "name": "bash", "input": {"cmd": "pytest"}, "output": "1 failed", "is_error": True},
        ],
        "input_tokens": 1200,
        "output_tokens": 300,
    },
]


@pytest.fixture
async def chat_id(app: FastAPI) -> str:
    account = await owner_account_id(app)
    workspace = await make_workspace(app, account, "cache-service")
    return str(
        await make_chat(
            app, account, MESSAGES, title="Cache misses: Zürich <edition>", workspace_id=workspace
        )
    )


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.text: list[str] = []
        self.styled_spans = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        if tag == "span" and any(k == "style" for k, _ in attrs):
            self.styled_spans += 1

    def handle_data(self, data: str) -> None:
        self.text.append(data)


async def test_json(client: httpx.AsyncClient, chat_id: str) -> None:
    for prefix in ("/api/v1", "/api"):
        r = await client.get(f"{prefix}/sessions/{chat_id}/export", params={"format": "json"})
        assert r.status_code == 200, r.text
        assert r.headers["content-type"] == "application/json"
        assert r.headers["content-disposition"].startswith(
            'attachment; filename="cache-misses-zurich-edition-'
        )
        body = json.loads(r.content)
        assert body["session"]["id"] == chat_id
        assert body["session"]["workspace"]["name"] == "cache-service"
        assert [m["role"] for m in body["messages"]] == ["user", "assistant"]
        assert body["messages"][0]["content"].endswith(XSS)
        assert body["messages"][1]["tool_calls"][1]["is_error"] is True
        assert body["messages"][1]["usage"]["input_tokens"] == 1200
    default = await client.get(f"/api/sessions/{chat_id}/export")
    assert json.loads(default.content)["session"]["id"] == chat_id


async def test_markdown(client: httpx.AsyncClient, chat_id: str) -> None:
    for fmt in ("markdown", "md"):
        r = await client.get(f"/api/sessions/{chat_id}/export", params={"format": fmt})
        assert r.status_code == 200
        assert r.headers["content-type"] == "text/markdown; charset=utf-8"
        assert r.headers["content-disposition"].endswith(".md")
        text = r.text
        assert text.startswith("# Cache misses: Zürich <edition>\n")
        assert "## User" in text and "## Assistant · claude-sonnet-4-5-20250929" in text
        assert "```python\ndef lookup(key):" in text
        assert "<details><summary>Tool call: read_file</summary>" in text
        assert '"path": "cache.py"' in text
        assert "Error:" in text and "1 failed" in text
        assert "<details><summary>Thinking</summary>" in text


async def test_html_is_self_contained_escaped_and_collapsible(
    client: httpx.AsyncClient, chat_id: str
) -> None:
    r = await client.get(f"/api/sessions/{chat_id}/export", params={"format": "html"})
    assert r.status_code == 200
    assert r.headers["content-type"] == "text/html; charset=utf-8"
    page = r.text
    parser = _Collector()
    parser.feed(page)
    assert "script" not in parser.tags and "img" not in parser.tags
    assert "&lt;script&gt;alert(&#x27;pwned&#x27;)&lt;/script&gt;" in page or "&lt;script&gt;" in page
    assert parser.tags.count("details") == 3  # thinking and two tool calls
    assert parser.tags.count("summary") == 3
    assert "style" in parser.tags and "link" not in parser.tags  # inline CSS, nothing fetched
    assert parser.styled_spans > 3  # Pygments inline styles on the Python block
    text = "".join(parser.text)
    assert "Cache misses: Zürich <edition>" in text
    assert "def lookup(key):" in text
    assert "read_file" in text and "1 failed" in text


async def test_pdf_text(client: httpx.AsyncClient, chat_id: str) -> None:
    r = await client.get(f"/api/sessions/{chat_id}/export", params={"format": "pdf"})
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/pdf"
    assert r.headers["content-disposition"].endswith(".pdf")
    assert r.content.startswith(b"%PDF-")
    reader = PdfReader(io.BytesIO(r.content))
    text = "\n".join(page.extract_text() for page in reader.pages)
    flat = " ".join(text.split())
    assert "Cache misses" in flat
    assert "Why does the cache miss?" in flat
    assert "def lookup(key):" in flat
    assert "read_file" in flat and "1 failed" in flat
    assert "Zürich" in flat  # Unicode survives with the DejaVu fonts


async def test_errors(app: FastAPI, client: httpx.AsyncClient, chat_id: str) -> None:
    r = await client.get(f"/api/sessions/{chat_id}/export", params={"format": "docx"})
    assert r.status_code == 400
    assert r.json()["error"]["code"] == "BAD_REQUEST"
    r = await client.get("/api/sessions/not-a-chat/export")
    assert r.status_code == 404
    assert r.json() == {"success": False, "error": {"code": "NOT_FOUND", "message": "Session not found"}}
    other = await make_chat(app, await other_account_id(app), [{"role": "user", "content": "hidden"}])
    assert (await client.get(f"/api/sessions/{other}/export")).status_code == 404


async def test_service_function_for_the_cli(app: FastAPI, chat_id: str) -> None:
    account = await owner_account_id(app)
    async with app.state.sessionmaker() as db:
        content, media_type, filename = await export_chat(db, account, chat_id, "markdown")
    assert media_type.startswith("text/markdown")
    assert filename.endswith(".md")
    assert b"def lookup(key):" in content
