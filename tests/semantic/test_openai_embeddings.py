"""Embeddings from an OpenAI-compatible endpoint: a fake /v1/embeddings server on 127.0.0.1 whose
vectors count letters (so equal texts get equal vectors, and unrelated ones differ)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from semantic_helpers import wait_indexed

from chasm.app import create_app
from chasm.config import Settings


def _vector(text: str) -> list[float]:
    counts = [0.0] * 26
    for ch in text.lower():
        if "a" <= ch <= "z":
            counts[ord(ch) - 97] += 1
    return counts


class _Embeddings(BaseHTTPRequestHandler):
    seen: list[dict[str, object]] = []

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        _Embeddings.seen.append({"path": self.path, "auth": self.headers.get("Authorization"), **body})
        data = [
            {"object": "embedding", "index": i, "embedding": _vector(t)} for i, t in enumerate(body["input"])
        ]
        reply = json.dumps(
            {
                "object": "list",
                "data": data,
                "model": body["model"],
                "usage": {"prompt_tokens": 1, "total_tokens": 1},
            }
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    def log_message(self, *args: object) -> None:
        return None


@pytest.fixture
def endpoint() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Embeddings)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()
    server.server_close()


async def test_chats_are_ranked_with_the_endpoints_vectors(
    tmp_path: Path, db_settings: dict[str, object], endpoint: str
) -> None:
    settings = Settings(
        data_dir=tmp_path / "d",
        secret_key="k" * 32,
        semantic_embedder="openai",
        semantic_base_url=endpoint,
        semantic_model="fake-embed",
        semantic_api_key="sk-test",
        **db_settings,  # type: ignore[arg-type]
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8787") as client:
            ids = {}
            for text in ("zzzz zzz zz", "aaaa aaa bbb"):
                chat = (await client.post("/api/v1/sessions", json={"title": "t"})).json()
                await client.post(
                    f"/api/v1/sessions/{chat['id']}/messages", json={"role": "user", "content": text}
                )
                ids[text] = chat["id"]
            await wait_indexed(app)

            found = (await client.get("/api/v1/search/semantic", params={"q": "zz"})).json()

    assert found["results"][0]["session"]["id"] == ids["zzzz zzz zz"]
    assert found["results"][0]["relevance"] == pytest.approx(1.0, abs=1e-4)
    assert found["model"] == "openai:fake-embed"
    assert _Embeddings.seen[-1]["path"] == "/v1/embeddings"
    assert _Embeddings.seen[-1]["auth"] == "Bearer sk-test"

    # the index is kept in the data dir, and rebuilt from the database when it is missing
    (saved,) = (settings.data_dir / "semantic").glob("*.usearch")
    for restart in ("loaded from its file", "rebuilt"):
        if restart == "rebuilt":
            saved.unlink()
        app = create_app(settings)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
            async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8787") as client:
                again = (await client.get("/api/v1/search/semantic", params={"q": "aaab"})).json()
        assert again["results"][0]["session"]["id"] == ids["aaaa aaa bbb"], restart
        assert saved.exists()
