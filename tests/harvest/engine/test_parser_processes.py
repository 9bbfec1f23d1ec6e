"""Parser processes and prepared rows: what a harvest stores is the same whichever way it was parsed."""

from __future__ import annotations

import os
import shutil
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
import pytest
from harvest_testsource import JsonlSource, SlowFirstSource
from sqlalchemy.dialects.sqlite.pysqlite import SQLiteDialect_pysqlite

from chasm.config import Settings
from chasm.harvest import parsing
from chasm.harvest.model import ParsedChat, ParsedMessage, SourceUnit, TokenUsage, ToolCall
from chasm.harvest.prepare import prepare_chat
from chasm.harvest.rows import MESSAGE_COLUMNS, json_text, message_rows, messages_t
from chasm.harvest.units import Job
from shared_fixtures import TRANSCRIPTS

PROVIDERS = ["claude-code", "codex"]
QUERIES = ["README", "hoge", "print", "error", "session", "file"]


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The engine tests' settings, with two parser processes."""
    return settings.model_copy(update={"harvest_workers": 2})


def test_rows_prepared_for_sqlite_are_what_the_store_would_bind() -> None:
    naive = datetime(2026, 3, 1, 10, 0, 5, 123)
    messages = [
        ParsedMessage("user", "hello\x00 there", naive, source_id="u1", metadata={"k": "v\x00"}),
        ParsedMessage(
            "assistant",
            "",
            datetime(2026, 3, 1, 12, 0, tzinfo=timezone(timedelta(hours=2))),
            source_id="a1",
            parent_source_id="u1",
            model="m" * 300,
            thinking="hmm\x00",
            tool_calls=[ToolCall("Read", "t1", {"file_path": "/x/README.md"}, "body\x00", False)],
            usage=TokenUsage(10, 20, 30, 40, 5),
        ),
        ParsedMessage("user", "no stamp, no id"),
        ParsedMessage("user", "no stamp, no id"),  # the same record again: dropped
    ]
    chat = ParsedChat("claude-code", "s1", messages, workspace_path="/w/p/")

    prepared = prepare_chat(chat, encode=True)

    dialect = SQLiteDialect_pysqlite(json_serializer=json_text)
    processors = [messages_t.c[name].type._cached_bind_processor(dialect) for name in MESSAGE_COLUMNS]
    expected = [
        tuple(v if p is None else p(v) for p, v in zip(processors, row, strict=True))
        for row in message_rows(prepared.chat_id, messages, 0, set(), clean_json=False).rows
    ]
    assert [row[2:] for row in prepared.rows] == [row[2:] for row in expected]
    assert {row[1] for row in prepared.rows} == {prepared.chat_id.hex}
    assert len(prepared.rows) == 3 and prepared.message_count == 4
    assert prepared.workspace == ("/w/p", "p")
    assert prepared.totals["input_tokens"] == 10 and prepared.totals["tool_call_count"] == 1
    assert prepare_chat(chat, encode=False).rows[0][16] == naive.replace(tzinfo=UTC)


async def _library(client: httpx.AsyncClient) -> dict[str, Any]:
    """What a user sees of the library: every chat with its messages, and some searches."""
    chats = []
    listed: list[dict[str, Any]] = []
    while True:
        page = (await client.get("/api/sessions", params={"limit": 100, "offset": len(listed)})).json()
        listed += page["data"]["sessions"]
        if not page["data"]["sessions"] or len(listed) >= page["data"]["total"]:
            break
    for summary in listed:
        chat = (await client.get(f"/api/sessions/{summary['id']}")).json()["data"]
        keep = ("provider", "source_id", "title", "model", "message_count", "started_at", "project")
        messages = [{k: v for k, v in m.items() if k != "id"} for m in chat["messages"]]
        chats.append(({k: chat.get(k) for k in keep}, messages))
    chats.sort(key=lambda c: (c[0]["provider"], c[0]["source_id"]))
    searches = {}
    for q in QUERIES:
        # Every hit, page by page: which of several equally ranked hits make a first page depends
        # on the order the rows were stored in, and parser processes store units as they finish.
        hits: list[tuple[str, str]] = []
        while True:
            params: dict[str, Any] = {"q": q, "limit": 100, "offset": len(hits)}
            found = (await client.get("/api/search/messages", params=params)).json()["data"]
            hits += [(m["session_id"], m["snippet"]) for m in found["messages"]]
            if not found["messages"] or len(hits) >= found["total"]:
                break
        searches[q] = (found["total"], sorted(hits))
    return {"chats": chats, "searches": searches}


async def test_parser_processes_store_what_the_parse_thread_stores(
    client: httpx.AsyncClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tree = tmp_path / "transcripts"
    shutil.copytree(TRANSCRIPTS / "claude-code", tree / "claude-code")
    (tree / "codex").mkdir()
    for path in sorted((TRANSCRIPTS / "codex").glob("*.json*")):  # named as Codex names its logs
        shutil.copy(path, tree / "codex" / f"rollout-{path.name}")
    await client.put("/api/settings", json={"harvest": {"roots": {n: [str(tree / n)] for n in PROVIDERS}}})
    pools: list[int] = []
    process_ahead = parsing.ProcessAhead

    def counted(*args: Any, **kwargs: Any) -> parsing.ProcessAhead:
        pools.append(1)
        return process_ahead(*args, **kwargs)

    monkeypatch.setattr(parsing, "ProcessAhead", counted)
    monkeypatch.setattr(parsing, "PROCESS_POOL_MIN_BYTES", 0)
    monkeypatch.setattr(parsing, "TASK_UNITS", 2)  # several tasks per process

    first = (await client.post("/api/harvest", json={"providers": PROVIDERS})).json()["data"]
    in_processes = await _library(client)

    assert pools == [1] and first["errors"] == []
    assert first["messages_count"] > 100
    assert all(total for total, _ in in_processes["searches"].values())
    # Every file changed: parsed again in the thread, each chat's messages replaced.
    monkeypatch.setattr(parsing, "PROCESS_POOL_MIN_BYTES", 1 << 40)
    later = datetime.now().timestamp() + 10
    for path in tree.rglob("*"):
        if path.is_file():
            os.utime(path, (later, later))
    again = (await client.post("/api/harvest", json={"providers": PROVIDERS})).json()["data"]

    assert pools == [1] and again["errors"] == []
    assert again["sessions_count"] == first["sessions_count"]
    assert await _library(client) == in_processes


async def test_a_source_that_cannot_be_pickled_is_parsed_in_a_thread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    class Local(JsonlSource):  # a class defined in a function: pickle cannot name it
        pass

    source = Local()
    path = tmp_path / "a.jsonl"
    path.write_text('{"role": "user", "content": "hello"}\n')
    unit = SourceUnit(str(path), [path], resumable=True)
    monkeypatch.setattr(parsing, "PROCESS_POOL_MIN_BYTES", 0)
    jobs = [Job(source, unit, "fp", path.stat().st_size, None, None)]

    batches = [batch async for batch in parsing.parsed_batches(jobs, workers=2)]

    [[(job, outcome, failed)]] = batches
    assert not failed and [len(c.rows) for c in outcome.chats] == [1]  # type: ignore[union-attr]


async def test_parser_processes_hand_units_over_in_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A unit a process finishes early waits for the earlier ones: two files of one chat are stored
    in the order the thread would store them (the later one last), whichever was parsed first."""
    source = SlowFirstSource()
    jobs = []
    for name in ("slow-a", "b", "c"):
        path = tmp_path / f"{name}.jsonl"
        path.write_text('{"role": "user", "content": "hello"}\n')
        jobs.append(
            Job(source, SourceUnit(str(path), [path], resumable=True), "fp", path.stat().st_size, None, None)
        )
    monkeypatch.setattr(parsing, "PROCESS_POOL_MIN_BYTES", 0)
    monkeypatch.setattr(parsing, "TASK_UNITS", 1)  # one unit per task: three tasks, two processes

    batches = [batch async for batch in parsing.parsed_batches(jobs, workers=2)]

    assert [job.unit.key for batch in batches for job, _, _ in batch] == [j.unit.key for j in jobs]
