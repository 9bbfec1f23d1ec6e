"""Semantic search over harvested fixture chats, with the bundled local model."""

from __future__ import annotations

import re
import shutil
import socket
from pathlib import Path

import httpx
from fastapi import FastAPI
from semantic_helpers import wait_indexed

from chasm.app import create_app
from chasm.config import Settings
from shared_fixtures import TRANSCRIPTS

# gitai_gemini-session-simple.jsonl: "add another hello bob console log to @index.ts", said in
# other words, none of them in the chat.
PARAPHRASE = "greeting Robert via TypeScript entrypoint logging"


async def _harvest_gemini(client: httpx.AsyncClient, tmp_path: Path) -> None:
    tree = tmp_path / "gemini"
    chats = tree / "project" / "chats"  # Gemini CLI's layout: <root>/<project>/chats/session-*.json
    chats.mkdir(parents=True)
    for path in (TRANSCRIPTS / "gemini-cli").iterdir():
        shutil.copyfile(path, chats / f"session-{path.name}")
    put = await client.put("/api/settings", json={"harvest": {"roots": {"gemini-cli": [str(tree)]}}})
    assert put.status_code == 200, put.text
    harvested = (await client.post("/api/harvest", json={"providers": ["gemini-cli"]})).json()["data"]
    assert harvested["sessions_count"] >= 3


def _words(text: str) -> set[str]:
    return set(re.findall(r"[a-z0-9]+", text.lower()))


async def test_a_paraphrase_sharing_no_word_finds_the_chat_and_hybrid_fuses_words(
    app: FastAPI, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    await _harvest_gemini(client, tmp_path)
    await wait_indexed(app)

    reply = await client.get("/api/v1/search/semantic", params={"q": PARAPHRASE, "limit": 3})

    assert reply.status_code == 200, reply.text
    body = reply.json()
    top = body["results"][0]
    chat = (await client.get(f"/api/v1/sessions/{top['session']['id']}")).json()
    assert "hello bob" in " ".join(m["content"] for m in chat["messages"])
    said = _words(" ".join([chat["title"] or "", *(m["content"] for m in chat["messages"])]))
    assert not _words(PARAPHRASE) & said  # no word in common: found by meaning alone
    assert 0 < top["relevance"] <= 1 and top["snippet"]
    assert [r["relevance"] for r in body["results"]] == sorted(
        (r["relevance"] for r in body["results"]), reverse=True
    )

    enveloped = (await client.get("/api/search/semantic", params={"q": PARAPHRASE, "limit": 3})).json()
    assert enveloped["success"] is True
    assert enveloped["data"]["results"][0]["session"]["id"] == top["session"]["id"]

    # hybrid mode: words and meaning fused (same library: harvesting costs more than asking)
    by_words = await client.get("/api/v1/search/semantic", params={"q": "myapp directory", "mode": "hybrid"})
    by_meaning = await client.get("/api/v1/search/semantic", params={"q": PARAPHRASE, "mode": "hybrid"})

    assert by_words.status_code == by_meaning.status_code == 200
    top = by_words.json()["results"][0]
    assert "myapp/hoge.py" in top["session"]["title"]
    assert "<mark>" in top["snippet"]  # the full-text match's highlighted snippet
    chat = (await client.get(f"/api/v1/sessions/{by_meaning.json()['results'][0]['session']['id']}")).json()
    assert "hello bob" in " ".join(m["content"] for m in chat["messages"])


async def test_a_new_message_is_embedded_in_the_background(
    app: FastAPI, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    created = await client.post("/api/v1/sessions", json={"title": "notes"})
    assert created.status_code in (200, 201), created.text
    chat_id = created.json()["id"]
    added = await client.post(
        f"/api/v1/sessions/{chat_id}/messages",
        json={"role": "user", "content": "The violinist tuned her instrument before the concert."},
    )
    assert added.status_code in (200, 201), added.text
    await wait_indexed(app)

    found = (
        await client.get("/api/v1/search/semantic", params={"q": "musician preparing a string instrument"})
    ).json()

    assert found["results"][0]["session"]["id"] == chat_id


async def _semantic_get(settings: Settings, q: str) -> httpx.Response:
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application, client=("127.0.0.1", 50000))
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8787") as c:
            return await c.get("/api/v1/search/semantic", params={"q": q})


def _settings(tmp_path: Path, db_settings: dict[str, object], **extra: object) -> Settings:
    return Settings(data_dir=tmp_path / "d", secret_key="k" * 32, **db_settings, **extra)  # type: ignore[arg-type]


async def test_semantic_search_turned_off_is_a_clear_503(
    tmp_path: Path, db_settings: dict[str, object]
) -> None:
    reply = await _semantic_get(_settings(tmp_path, db_settings, semantic_embedder="off"), "anything")

    assert reply.status_code == 503
    assert reply.json()["code"] == "SEMANTIC_SEARCH_DISABLED"


async def test_an_unreachable_embeddings_endpoint_is_a_clear_503(
    tmp_path: Path, db_settings: dict[str, object]
) -> None:
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    settings = _settings(
        tmp_path, db_settings, semantic_embedder="openai", semantic_base_url=f"http://127.0.0.1:{port}/v1"
    )

    reply = await _semantic_get(settings, "anything")

    assert reply.status_code == 503
    assert reply.json()["code"] == "EMBEDDINGS_UNAVAILABLE"
