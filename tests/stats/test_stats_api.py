"""Statistics: counts, token totals, estimated cost per model and provider, timeline buckets."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest
from fastapi import FastAPI

from chasm.chats.pricing import estimate_cost, price_for
from search.factories import make_chat, make_workspace, other_account_id, owner_account_id

M = 1_000_000


@pytest.fixture
async def library(app: FastAPI) -> None:
    account = await owner_account_id(app)
    workspace = await make_workspace(app, account, "api")
    await make_chat(
        app,
        account,
        [
            {"role": "user", "content": "run the tests"},
            {
                "role": "assistant",
                "content": "ran them",
                "input_tokens": M,
                "output_tokens": M // 10,
                "cache_read_tokens": 2 * M,
                "tool_calls": [{"id": "a", "name": "bash"}, {"id": "b", "name": "read"}],
            },
        ],
        workspace_id=workspace,
        model="claude-sonnet-4-5-20250929",
        started_at=datetime(2026, 3, 2, 9, 0, tzinfo=UTC),  # a Monday
    )
    await make_chat(
        app,
        account,
        [{"role": "assistant", "content": "patched", "input_tokens": 2 * M, "output_tokens": M}],
        provider="codex",
        model="gpt-5-codex",
        started_at=datetime(2026, 3, 11, 23, 30, tzinfo=UTC),  # a Wednesday
    )
    await make_chat(
        app,
        account,
        [{"role": "user", "content": "hello"}],
        provider="cursor",
        model="mystery-model-1",
        started_at=datetime(2027, 1, 5, 12, 0, tzinfo=UTC),
        chat_tokens={"input_tokens": 400, "output_tokens": 100},
    )
    other = await other_account_id(app)
    await make_chat(
        app, other, [{"role": "assistant", "content": "x", "input_tokens": 5 * M}], provider="codex"
    )


async def test_legacy_stats_shape(client: httpx.AsyncClient, library: None) -> None:
    r = await client.get("/api/stats")
    assert r.status_code == 200
    data = r.json()["data"]
    assert data["totalSessions"] == 3
    assert data["totalMessages"] == 4
    assert data["totalWorkspaces"] == 1
    assert data["totalToolInvocations"] == 2
    assert data["totalInputTokens"] == 3 * M + 400
    assert data["totalOutputTokens"] == M + M // 10 + 100
    assert data["totalCacheReadTokens"] == 2 * M
    assert data["totalCacheWriteTokens"] == 0
    # sonnet: 3 + 1.5 + 0.6 = 5.1; gpt-5-codex: 2.5 + 10 = 12.5; the unknown model is not guessed
    assert data["estimatedCostUsd"] == pytest.approx(17.6)
    assert data["unpricedTokens"] == 500
    by_model = {m["model"]: m for m in data["models"]}
    assert by_model["mystery-model-1"]["estimated_cost_usd"] is None
    assert by_model["claude-sonnet-4-5-20250929"]["estimated_cost_usd"] == pytest.approx(5.1)


async def test_overview_and_today(app: FastAPI, client: httpx.AsyncClient, library: None) -> None:
    data = (await client.get("/api/stats/overview")).json()["data"]
    assert data["total_sessions"] == 3
    assert data["total_messages"] == 4
    assert data["active_providers"] == 3
    assert data["workspaces"] == 1
    assert data["sessions_today"] == 0 and data["messages_today"] == 0
    assert data["total_tokens"] == 3 * M + 400 + M + M // 10 + 100 + 2 * M
    account = await owner_account_id(app)
    await make_chat(
        app,
        account,
        [{"role": "user", "content": "now"}],
        started_at=datetime.now(UTC) - timedelta(seconds=5),
    )
    data = (await client.get("/api/stats/overview")).json()["data"]
    assert data["sessions_today"] == 1 and data["messages_today"] == 1


async def test_providers(client: httpx.AsyncClient, library: None) -> None:
    rows = (await client.get("/api/stats/providers")).json()["data"]
    by_provider = {row["provider"]: row for row in rows}
    assert set(by_provider) == {"claude_code", "codex", "cursor"}
    assert by_provider["codex"]["session_count"] == 1
    assert by_provider["codex"]["message_count"] == 1
    assert by_provider["codex"]["token_count"] == 3 * M
    assert by_provider["codex"]["estimated_cost_usd"] == pytest.approx(12.5)
    assert by_provider["claude_code"]["message_count"] == 2
    assert by_provider["cursor"]["estimated_cost_usd"] is None
    assert by_provider["cursor"]["token_count"] == 500


@pytest.mark.parametrize(
    ("period", "expected"),
    [
        ("day", {"2026-03-02": (1, 2), "2026-03-11": (1, 1), "2027-01-05": (1, 1)}),
        ("week", {"2026-03-02": (1, 2), "2026-03-09": (1, 1), "2027-01-04": (1, 1)}),
        ("month", {"2026-03-01": (2, 3), "2027-01-01": (1, 1)}),
        ("year", {"2026-01-01": (2, 3), "2027-01-01": (1, 1)}),
    ],
)
async def test_timeline(
    client: httpx.AsyncClient, library: None, period: str, expected: dict[str, tuple[int, int]]
) -> None:
    r = await client.get("/api/stats/timeline", params={"period": period})
    assert r.status_code == 200, r.text
    rows = r.json()["data"]
    assert [row["date"] for row in rows] == sorted(expected)
    assert {row["date"]: (row["sessions"], row["messages"]) for row in rows} == expected


async def test_timeline_default_range_and_validation(client: httpx.AsyncClient, library: None) -> None:
    rows = (await client.get("/api/stats/timeline")).json()["data"]
    assert rows[0] == {
        "date": "2026-03-02",
        "period": "week",
        "sessions": 1,
        "messages": 2,
        "tokens": 3_100_000,
    }
    rows = (
        await client.get("/api/stats/timeline", params={"period": "day", "since": "2026-03-05T00:00:00Z"})
    ).json()
    assert [row["date"] for row in rows["data"]] == ["2026-03-11", "2027-01-05"]
    r = await client.get("/api/stats/timeline", params={"period": "fortnight"})
    assert r.status_code == 400
    assert r.json()["success"] is False


def test_pricing_prefixes() -> None:
    assert price_for("claude-opus-4-5-20251101") == price_for("claude-opus-4-5")
    assert price_for("claude-opus-4-1-20250805").input == 15  # type: ignore[union-attr]
    assert price_for("anthropic/claude-sonnet-4-5").output == 15  # type: ignore[union-attr]
    assert price_for("us.anthropic.claude-haiku-4-5-20251001-v1:0").input == 1  # type: ignore[union-attr]
    assert price_for("gpt-5-mini-2025-08-07").input == 0.25  # type: ignore[union-attr]
    assert price_for("gpt-5-2025-08-07").input == 1.25  # type: ignore[union-attr]
    assert price_for("models/gemini-2.5-flash-lite").output == 0.40  # type: ignore[union-attr]
    assert price_for("llama3:8b") is None and price_for(None) is None
    assert estimate_cost("gpt-4o", M, 0, 0, 0) == 2.5
    assert estimate_cost("unknown", M, M, 0, 0) is None
