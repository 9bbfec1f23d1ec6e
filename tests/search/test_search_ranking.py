"""Ranking read from capped candidate lists (SQLite) is the exact ranking: pages, filters, ties,
chats grouped with their title scores, and totals counted up to a cap."""

from __future__ import annotations

import random
import re
from datetime import timedelta
from typing import Any

import httpx
import pytest
from factories import BASE_TIME, make_chat, make_workspace, other_account_id, owner_account_id
from fastapi import FastAPI

from chasm.search import fts5, fts5_chats
from chasm.search import repository as repo

FILLER = [
    "the",
    "a",
    "tide",
    "rock",
    "sand",
    "wave",
    "shell",
    "gull",
    "cliff",
    "pool",
    "boat",
    "net",
    "rope",
    "fish",
]
WORD = re.compile(r"\w+")


@pytest.fixture
async def library(app: FastAPI) -> dict[str, Any]:
    """36 chats with seeded random text: 'walrus' in many messages (often repeated, messages of
    every length, identical duplicates for ties) and in some titles; 'otter' rarer."""
    rng = random.Random(5)
    account = await owner_account_id(app)
    reef = await make_workspace(app, account, "reef")
    messages: list[dict[str, Any]] = []
    for n in range(36):
        provider = ("claude_code", "codex", "cursor")[n % 3]
        title_words = (
            rng.sample(FILLER, 3) + (["walrus"] if n % 4 == 0 else []) + (["otter"] if n == 7 else [])
        )
        rows = []
        for seq in range(rng.randint(1, 7)):
            words = rng.choices(FILLER, k=rng.randint(2, 30))
            for _ in range(rng.choice((0, 0, 1, 1, 2, 4))):
                words.insert(rng.randrange(len(words) + 1), "walrus")
            if rng.random() < 0.15:
                words.append("otter")
            content = " ".join(words) if seq != 1 or n % 5 else "walrus on the rock"  # duplicates: ties
            rows.append({"role": ("user", "assistant")[seq % 2], "content": content})
        chat_id = await make_chat(
            app,
            account,
            rows,
            title=" ".join(title_words),
            provider=provider,
            workspace_id=reef if n % 6 == 0 else None,
            started_at=BASE_TIME + timedelta(hours=n),
        )
        for seq, row in enumerate(rows):
            messages.append({**row, "chat_id": str(chat_id), "provider": provider, "n": n, "seq": seq})
    await make_chat(app, await other_account_id(app), [{"role": "user", "content": "walrus walrus walrus"}])
    return {"messages": messages, "workspace": str(reef)}


def _small_caps(monkeypatch: pytest.MonkeyPatch) -> None:
    """Candidate lists far shorter than the pages, so every check and fallback is exercised."""
    monkeypatch.setattr(fts5, "MIN_CANDIDATES", 1)
    monkeypatch.setattr(fts5, "OVERFETCH", 1)
    monkeypatch.setattr(fts5, "CHAT_OVERFETCH", 1)
    monkeypatch.setattr(fts5, "FILTERED_CHAT_OVERFETCH", 1)
    monkeypatch.setattr(fts5, "MAX_TITLE_CHATS", 1)


async def _get(client: httpx.AsyncClient, path: str, **params: Any) -> Any:
    r = await client.get(path, params=params)
    assert r.status_code == 200, r.text
    return r.json()["data"]


SESSION_CASES: list[tuple[str, dict[str, Any]]] = [
    ("walrus", {}),
    ("walrus", {"provider": "codex"}),
    ("walrus", {"role": "user"}),
    ("walrus OR otter", {}),
    ("otter", {"since": "2026-03-02T15:00:00Z"}),
    ('"walrus on"', {}),
]


@pytest.mark.parametrize(("q", "filters"), SESSION_CASES)
async def test_chat_ranking_from_capped_candidates_is_exact(
    client: httpx.AsyncClient,
    library: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
    q: str,
    filters: dict[str, Any],
) -> None:
    windows = [(5, 0), (5, 5), (3, 10), (50, 0)]

    async def pages() -> list[list[dict[str, Any]]]:
        return [
            await _get(client, "/api/search/sessions", q=q, limit=limit, offset=offset, **filters)
            for limit, offset in windows
        ]

    with monkeypatch.context() as patched:
        _small_caps(patched)
        capped = await pages()
    with monkeypatch.context() as patched:
        patched.setattr(fts5_chats, "_settled", lambda *args: False)  # always rank every match
        reference = await pages()
    assert capped == reference
    everything = reference[-1]
    assert everything, q
    for (limit, offset), page in zip(windows, capped, strict=True):
        assert page == everything[offset : offset + limit]
    scores = [s["score"] for s in everything]
    assert scores == sorted(scores, reverse=True)
    for chat in everything:
        assert chat["match_count"] > 0 or chat["title_match"]
        assert "<mark>" in chat["snippet"]


def _expected_messages(library: dict[str, Any], word: str, **filters: Any) -> set[str]:
    found = set()
    for m in library["messages"]:
        if word not in WORD.findall(m["content"].lower()):
            continue
        if all(m[key] == value for key, value in filters.items()):
            found.add((m["chat_id"], m["seq"]))
    return {f"{chat}:{seq}" for chat, seq in found}


@pytest.mark.parametrize("filters", [{}, {"provider": "cursor"}, {"role": "assistant"}])
async def test_message_pages_from_capped_candidates_are_exact(
    client: httpx.AsyncClient,
    library: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
    filters: dict[str, Any],
) -> None:
    _small_caps(monkeypatch)
    everything = await _get(client, "/api/search", q="walrus", limit=100, **filters)
    hits = everything["messages"]
    assert everything["total"] == len(hits) and everything["total_exact"] is True
    scores = [m["score"] for m in hits]
    assert scores == sorted(scores, reverse=True)
    for hit in hits:
        assert all(hit[key] == value for key, value in filters.items())
        assert "<mark>walrus</mark>" in hit["snippet"]
    assert len(hits) == len(_expected_messages(library, "walrus", **filters))
    assert len({h["id"] for h in hits}) == len(hits)
    paged = []
    for offset in range(0, len(hits) + 3, 7):
        page = await _get(client, "/api/search", q="walrus", limit=7, offset=offset, **filters)
        assert page["total"] == len(hits)
        paged += page["messages"]
    assert paged == hits  # ties too: the same order on every page


async def test_total_is_exact_below_the_cap_and_a_floor_at_it(
    client: httpx.AsyncClient, library: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(fts5, "TOTAL_CAP", 3)
    monkeypatch.setattr(repo, "TOTAL_CAP", 3)
    many = len(_expected_messages(library, "walrus", provider="codex"))
    assert many > 5
    found = await _get(client, "/api/search", q="walrus", provider="codex", limit=2)
    assert (found["total"], found["total_exact"]) == (3, False)
    assert len(found["messages"]) == 2
    # The last page knows every match without counting.
    last = await _get(client, "/api/search", q="walrus", provider="codex", limit=100)
    assert (last["total"], last["total_exact"]) == (many, True)
    few = await _get(client, "/api/search", q="otter", role="assistant", workspace=library["workspace"])
    assert few["total_exact"] is True and few["total"] == len(few["messages"])
    # Unfiltered, the total may be counted on the index alone (exact) or through the cap (a floor).
    unfiltered = await _get(client, "/api/search", q="walrus", limit=2)
    assert unfiltered["total_exact"] in (True, False)
    if unfiltered["total_exact"]:
        assert unfiltered["total"] == len(_expected_messages(library, "walrus"))
    else:
        assert unfiltered["total"] == 3


async def test_single_account_library_pages_the_index_alone(app: FastAPI, client: httpx.AsyncClient) -> None:
    """With every chat the account's, no filter: pages come straight off the index, totals too."""
    account = await owner_account_id(app)
    ids = [
        await make_chat(app, account, [{"role": "user", "content": "kelp " * (k + 1) + "forest"}])
        for k in range(6)
    ]
    first = await _get(client, "/api/search", q="kelp", limit=4)
    second = await _get(client, "/api/search", q="kelp", limit=4, offset=4)
    assert (first["total"], first["total_exact"], second["total"]) == (6, True, 6)
    order = [m["session_id"] for m in first["messages"] + second["messages"]]
    assert sorted(order) == sorted(str(i) for i in ids)
    if app.state.engine.dialect.name == "sqlite":
        assert order == [str(i) for i in reversed(ids)]  # bm25: more "kelp" (and as long) ranks higher
    empty = await _get(client, "/api/search", q="kelp", limit=4, offset=40)
    assert (empty["messages"], empty["total"]) == ([], 6)
