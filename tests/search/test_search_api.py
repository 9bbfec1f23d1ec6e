"""Full-text search over titles and messages: ranking, snippets, syntax, filters, scoping."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from factories import BASE_TIME, make_chat, make_workspace, other_account_id, owner_account_id
from fastapi import FastAPI
from sqlalchemy import delete, update

from chasm.kit.db import transaction
from chasm.models import Chat, ChatMessage


@pytest.fixture
async def corpus(app: FastAPI) -> dict[str, str]:
    account = await owner_account_id(app)
    web = await make_workspace(app, account, "webapp")
    ids = {
        "oauth": await make_chat(
            app,
            account,
            [
                {"role": "user", "content": "The OAuth token refresh fails with a 401 after an hour."},
                {
                    "role": "assistant",
                    "content": "Refresh the token before it expires: refresh early, refresh often, "
                    "and persist the refresh token in the keyring.",
                },
            ],
            title="Fixing the token refresh flow",
            workspace_id=web,
        ),
        "db": await make_chat(
            app,
            account,
            [
                {"role": "user", "content": "How do I write an alembic migration for postgres?"},
                {
                    "role": "assistant",
                    "content": "Use op.execute in the migration. Beware <script>alert('x')</script> in "
                    "templates; a refresh of the schema cache is needed once.",
                },
            ],
            title="Database migrations",
            provider="codex",
            model="gpt-5-codex",
            started_at=BASE_TIME + timedelta(days=10),
        ),
        "parser": await make_chat(
            app,
            account,
            [
                {"role": "user", "content": "Split the tokenizer into a lexer and a parser."},
                {"role": "assistant", "content": "The parser now consumes tokens from the lexer."},
            ],
            title="Refactor the parser",
            provider="cursor",
            started_at=BASE_TIME + timedelta(days=20),
        ),
    }
    other = await other_account_id(app)
    await make_chat(app, other, [{"role": "user", "content": "secret refresh plans of another account"}])
    return {k: str(v) for k, v in ids.items()} | {"webapp": str(web)}


async def _search(client: httpx.AsyncClient, path: str, **params: object) -> httpx.Response:
    return await client.get(path, params=params)


async def test_messages_ranked_with_highlighted_snippets(
    client: httpx.AsyncClient, corpus: dict[str, str]
) -> None:
    r = await _search(client, "/api/search", q="refresh")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["success"] is True
    messages = body["data"]["messages"]
    # The assistant message saying "refresh" four times outranks the ones saying it once.
    assert messages[0]["session_id"] == corpus["oauth"]
    assert messages[0]["role"] == "assistant"
    assert [m["session_id"] for m in messages].count(corpus["db"]) == 1
    assert body["data"]["total"] == 3  # the other account's message is not counted
    scores = [m["score"] for m in messages]
    assert scores == sorted(scores, reverse=True)
    assert "<mark>Refresh</mark>" in messages[0]["snippet"]
    hit = messages[0]
    assert hit["title"] == "Fixing the token refresh flow"
    assert hit["provider"] == "claude_code"
    assert hit["workspace_id"] == corpus["webapp"]
    assert hit["message_id"] == hit["id"]
    assert hit["created_at"].startswith("2026-03-02T09:01")


async def test_sessions_grouped_and_title_boosted(client: httpx.AsyncClient, corpus: dict[str, str]) -> None:
    for path in ("/api/search/sessions", "/api/sessions/search", "/api/sessions/search"):
        r = await _search(client, path, q="refresh")
        assert r.status_code == 200, r.text
        sessions = r.json()["data"]
        assert [s["id"] for s in sessions] == [corpus["oauth"], corpus["db"]]
        top = sessions[0]
        assert top["title_match"] is True
        assert top["match_count"] == 2
        assert "<mark>refresh</mark>" in top["title_highlight"]
        assert "<mark>" in top["snippet"]
        assert top["message_count"] == 2
    r = await _search(client, "/api/search", q="parser")
    data = r.json()["data"]
    assert [s["id"] for s in data["sessions"]] == [corpus["parser"]]
    assert data["sessions"][0]["title_match"] is True


async def test_chat_text_is_escaped_in_snippets(client: httpx.AsyncClient, corpus: dict[str, str]) -> None:
    r = await _search(client, "/api/search", q="beware")
    snippet = r.json()["data"]["messages"][0]["snippet"]
    assert "<mark>Beware</mark>" in snippet
    markup_free = snippet.replace("<mark>", "").replace("</mark>", "")
    assert "<" not in markup_free and ">" not in markup_free
    # SQLite keeps the tag text (escaped); PostgreSQL's parser drops tag-like text from headlines.
    assert "&lt;script&gt;" in snippet or "script" not in snippet


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ('"refresh token"', {"oauth"}),
        ("token -refresh", {"parser"}),
        ("alembic OR lexer", {"db", "parser"}),
        ("migra*", {"db"}),
        ("tokens", {"oauth", "parser"}),  # stemming: token/tokens
        ("OAuth 401", {"oauth"}),
        ("NEAR(refresh token) AND title:x", set()),  # operators are plain words here
    ],
)
async def test_query_syntax(
    client: httpx.AsyncClient, corpus: dict[str, str], q: str, expected: set[str]
) -> None:
    r = await _search(client, "/api/search/sessions", q=q)
    assert r.status_code == 200, r.text
    found = {name for name, cid in corpus.items() if cid in {s["id"] for s in r.json()["data"]}}
    assert found == expected


@pytest.mark.parametrize("q", ["-refresh", '"', "***", "( ) : ^", "OR OR", "-x OR -y"])
async def test_unsearchable_queries_are_bad_requests(
    client: httpx.AsyncClient, corpus: dict[str, str], q: str
) -> None:
    for path in ("/api/search", "/api/search/sessions", "/api/sessions/search"):
        r = await _search(client, path, q=q)
        assert r.status_code == 400, (path, q, r.text)
        assert r.json() == {
            "success": False,
            "error": {"code": "BAD_REQUEST", "message": r.json()["error"]["message"]},
        }


async def test_filters(client: httpx.AsyncClient, corpus: dict[str, str]) -> None:
    async def sessions(**params: object) -> set[str]:
        r = await _search(client, "/api/search/sessions", q="refresh OR parser", **params)
        assert r.status_code == 200, r.text
        return {name for name, cid in corpus.items() if cid in {s["id"] for s in r.json()["data"]}}

    assert await sessions() == {"oauth", "db", "parser"}
    assert await sessions(provider="codex") == {"db"}
    assert await sessions(provider="openai") == {"db"}  # 001's name, covering codex
    assert await sessions(provider="cursor") == {"parser"}
    unknown = await _search(client, "/api/search/sessions", q="refresh", provider="nope")
    assert unknown.status_code == 400 and unknown.json()["error"]["code"] == "UNKNOWN_PROVIDER"
    assert "copilot" in unknown.json()["error"]["details"]["valid"]
    assert await sessions(workspace_id=corpus["webapp"]) == {"oauth"}
    assert await sessions(workspace=corpus["webapp"]) == {"oauth"}
    assert await sessions(since="2026-03-10T00:00:00Z") == {"db", "parser"}
    assert await sessions(**{"from": "2026-03-10T00:00:00Z", "to": "2026-03-15T00:00:00+00:00"}) == {"db"}
    assert await sessions(until="2026-03-02T09:00:30Z") == {"oauth"}
    r = await _search(client, "/api/search", q="refresh", role="user")
    assert [m["role"] for m in r.json()["data"]["messages"]] == ["user"]


async def test_pagination(client: httpx.AsyncClient, corpus: dict[str, str]) -> None:
    everything = (await _search(client, "/api/search", q="refresh", limit=10)).json()["data"]["messages"]
    page = (await _search(client, "/api/search", q="refresh", limit=1, offset=1)).json()["data"]
    assert [m["id"] for m in page["messages"]] == [everything[1]["id"]]
    assert page["total"] == 3
    r = await _search(client, "/api/search", q="refresh", limit=101)
    assert r.status_code == 400


async def test_index_follows_updates_and_deletes(
    app: FastAPI, client: httpx.AsyncClient, corpus: dict[str, str]
) -> None:
    async with transaction(app.state.sessionmaker) as db:
        await db.execute(
            update(ChatMessage)
            .where(ChatMessage.content.like("Split the tokenizer%"))
            .values(content="Rewrite the tokenizer with a zebra lexer.")
        )
        await db.execute(update(Chat).where(Chat.title == "Database migrations").values(title="Zebra schema"))
    found = (await _search(client, "/api/search/sessions", q="zebra")).json()["data"]
    assert {s["id"] for s in found} == {corpus["parser"], corpus["db"]}
    assert (await _search(client, "/api/search", q="split")).json()["data"]["total"] == 0
    async with transaction(app.state.sessionmaker) as db:
        await db.execute(delete(Chat).where(Chat.title == "Zebra schema"))
    found = (await _search(client, "/api/search/sessions", q="zebra")).json()["data"]
    assert {s["id"] for s in found} == {corpus["parser"]}


async def test_cjk_words_inside_longer_runs_with_readable_snippets(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    """A CJK word is found inside a longer run of CJK text, and the snippet and title read as the
    chat does, the whole word highlighted once; edits and deletes keep the index right."""
    account = await owner_account_id(app)
    japanese = await make_chat(
        app,
        account,
        [{"role": "user", "content": "日本語の文章を検索するには、全文検索の索引が要ります。"}],
        title="文章検索のメモ",
    )
    korean = await make_chat(
        app, account, [{"role": "user", "content": "한국어 문장에서 검색어를 찾습니다."}], title=None
    )

    r = await _search(client, "/api/search", q="文章")
    assert r.status_code == 200, r.text
    [hit] = r.json()["data"]["messages"]
    assert hit["session_id"] == str(japanese)
    # The word marked once (not 文 of 全文 too); PostgreSQL may start the fragment at the match.
    assert "<mark>文章</mark>を検索するには、全" in hit["snippet"]
    assert hit["snippet"].count("<mark>") == 1
    assert "\x1f" not in hit["snippet"]
    sessions = (await _search(client, "/api/search/sessions", q="検索")).json()["data"]
    assert [s["id"] for s in sessions] == [str(japanese)]
    assert sessions[0]["title_highlight"] == "文章<mark>検索</mark>のメモ"
    assert "<mark>検索</mark>" in sessions[0]["snippet"]
    [hit] = (await _search(client, "/api/search", q="검색")).json()["data"]["messages"]
    assert hit["session_id"] == str(korean)
    assert "<mark>검색</mark>어를" in hit["snippet"]

    async with transaction(app.state.sessionmaker) as db:
        await db.execute(
            update(ChatMessage).where(ChatMessage.chat_id == korean).values(content="데이터베이스 색인")
        )
        await db.execute(update(Chat).where(Chat.id == japanese).values(title="メモ"))
    assert (await _search(client, "/api/search", q="검색")).json()["data"]["total"] == 0
    assert (await _search(client, "/api/search", q="베이스")).json()["data"]["total"] == 1
    sessions = (await _search(client, "/api/search/sessions", q="検索")).json()["data"]
    assert [s["title_match"] for s in sessions] == [False]
    async with transaction(app.state.sessionmaker) as db:
        await db.execute(delete(Chat).where(Chat.id == japanese))
    assert (await _search(client, "/api/search", q="文章")).json()["data"]["total"] == 0


async def test_single_account_library(app: FastAPI, client: httpx.AsyncClient) -> None:
    """A library with one account (SQLite ranks it on the index alone) answers exactly like one
    shared with others, and never shows another account's chats once there are some."""
    account = await owner_account_id(app)
    strong = await make_chat(app, account, [{"role": "user", "content": "walrus walrus walrus on the beach"}])
    weak = await make_chat(
        app,
        account,
        [{"role": "user", "content": "a long note that mentions a walrus only once among many words"}],
    )

    async def search() -> dict[str, object]:
        r = await _search(client, "/api/search", q="walrus")
        assert r.status_code == 200, r.text
        data: dict[str, object] = r.json()["data"]
        return data

    alone = await search()
    assert alone["total"] == 2
    messages = alone["messages"]
    assert isinstance(messages, list)
    assert [m["session_id"] for m in messages] == [str(strong), str(weak)]
    assert messages[0]["snippet"].startswith("<mark>walrus</mark> <mark>walrus</mark>")
    page = (await _search(client, "/api/search", q="walrus", limit=1, offset=1)).json()["data"]
    assert [m["session_id"] for m in page["messages"]] == [str(weak)]
    await make_chat(
        app, await other_account_id(app), [{"role": "user", "content": "walrus walrus walrus walrus"}]
    )
    shared = await search()
    assert shared["total"] == 2
    assert shared["messages"] == messages
    sessions = alone["sessions"]
    assert isinstance(sessions, list)
    assert [s["id"] for s in sessions] == [str(strong), str(weak)]
    assert shared["sessions"] == sessions  # the other account's chat, the best match, stays out


async def test_common_word_beyond_the_ranked_candidates(app: FastAPI, client: httpx.AsyncClient) -> None:
    """More matches than PostgreSQL ranks (its 1,000 most recent): a recent strong match still
    leads, the total says "1000 or more", and a chat's match count is counted in full."""
    account = await owner_account_id(app)
    many = [{"role": "assistant", "content": f"note {i}: the narwhal swims on"} for i in range(1005)]
    bulk = await make_chat(app, account, many, title="Log", provider="codex")
    strong = await make_chat(
        app,
        account,
        [{"role": "user", "content": "narwhal narwhal narwhal"}],
        title="Tusks",
        provider="codex",
        started_at=BASE_TIME + timedelta(days=30),
    )
    r = await _search(client, "/api/search/messages", q="narwhal", provider="codex")
    assert r.status_code == 200, r.text
    found = r.json()["data"]
    assert found["messages"][0]["session_id"] == str(strong)
    assert len(found["messages"]) == 20
    assert (found["total"], found["total_exact"]) == (1000, False)
    r = await _search(client, "/api/search/sessions", q="narwhal")
    assert r.status_code == 200, r.text
    counts = {s["id"]: s["match_count"] for s in r.json()["data"]}
    assert counts == {str(strong): 1, str(bulk): 1005}
