"""The harvest engine through POST /harvest: incremental, safe, atomic per unit."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import httpx
from harvest_testsource import JsonlSource

T0 = "2026-03-01T10:00:00+00:00"


def record(i: int, role: str = "user", **extra: Any) -> dict[str, Any]:
    return {"role": role, "content": f"message {i}", "ts": f"2026-03-01T10:{i:02d}:00+00:00", **extra}


def write(path: Path, records: list[Any], mode: str = "w") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open(mode) as fh:
        for r in records:
            fh.write((r if isinstance(r, str) else json.dumps(r)) + "\n")


async def harvest(client: httpx.AsyncClient, prefix: str = "/api") -> dict[str, Any]:
    response = await client.post(f"{prefix}/harvest", json={"providers": ["testlog"]})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["success"] is True
    data: dict[str, Any] = body["data"]
    assert data["status"] == "succeeded" and data["job_id"]  # it ran as a `harvest.run` job
    return data


async def chat_by_source(client: httpx.AsyncClient, source_id: str) -> dict[str, Any]:
    listing = (await client.get("/api/sessions", params={"provider": "testlog", "limit": 100})).json()["data"]
    [summary] = [s for s in listing["sessions"] if s["source_id"] == source_id]
    data: dict[str, Any] = (await client.get(f"/api/sessions/{summary['id']}")).json()["data"]
    return data


async def test_first_harvest_stores_chats_workspaces_and_aggregates(
    client: httpx.AsyncClient, source: JsonlSource, home: Path
) -> None:
    write(
        home / ".testlog" / "a.jsonl",
        [
            record(0, cwd="/work/alpha"),
            record(1, "assistant", model="m-1", usage={"input_tokens": 10, "output_tokens": 5}),
            record(2),
        ],
    )
    write(home / ".testlog" / "sub" / "b.jsonl", [record(0, cwd="/work/alpha", parent="a")])

    result = await harvest(client)

    counts = result["providers"]["testlog"]
    assert counts["units_seen"] == 2 and counts["units_parsed"] == 2
    assert counts["chats_created"] == 2 and counts["messages_added"] == 4
    assert result["sessions_count"] == 2 and result["messages_count"] == 4
    assert result["providers_scanned"] == ["testlog"] and result["errors"] == []

    chat = await chat_by_source(client, "a")
    assert chat["message_count"] == 3 and chat["token_count"] == 15 and chat["model"] == "m-1"
    assert [m["content"] for m in chat["messages"]] == ["message 0", "message 1", "message 2"]
    assert chat["messages"][1]["usage"]["input_tokens"] == 10
    assert chat["started_at"] == "2026-03-01T10:00:00Z" and chat["updated_at"] == "2026-03-01T10:02:00Z"
    child = await chat_by_source(client, "b")
    assert child["parent_id"] == chat["id"]

    workspaces = (await client.get("/api/workspaces")).json()["data"]
    assert [(w["name"], w["path"], w["provider"], w["sessions"]) for w in workspaces] == [
        ("alpha", "/work/alpha", "testlog", 2)
    ]
    assert workspaces[0]["last_harvested"] is not None


async def test_unchanged_tree_is_not_parsed_again(
    client: httpx.AsyncClient, source: JsonlSource, home: Path
) -> None:
    for name in ("a", "b", "c"):
        write(home / ".testlog" / f"{name}.jsonl", [record(0), record(1, "assistant")])
    await harvest(client)
    source.parsed.clear()

    result = await harvest(client)

    assert source.parsed == []
    counts = result["providers"]["testlog"]
    assert counts["units_seen"] == 3 and counts["units_skipped"] == 3 and counts["units_parsed"] == 0
    assert counts["messages_added"] == 0


async def test_many_units_are_all_stored_in_one_harvest(
    client: httpx.AsyncClient, source: JsonlSource, home: Path
) -> None:
    # More units than the parser may run ahead of the store, and more than one store batch.
    for i in range(250):
        write(home / ".testlog" / f"chat{i:03d}.jsonl", [record(0), record(1, "assistant")])

    result = await harvest(client)

    counts = result["providers"]["testlog"]
    assert counts["units_seen"] == 250 and counts["units_parsed"] == 250
    assert counts["chats_created"] == 250 and counts["messages_added"] == 500
    again = (await harvest(client))["providers"]["testlog"]
    assert again["units_skipped"] == 250 and again["units_parsed"] == 0


async def test_appended_lines_are_parsed_alone_and_appended(
    client: httpx.AsyncClient, source: JsonlSource, home: Path
) -> None:
    path = home / ".testlog" / "a.jsonl"
    write(path, [record(0), record(1, "assistant")])
    await harvest(client)
    size = path.stat().st_size
    source.parsed.clear()

    write(path, [record(2), record(3, "assistant")], mode="a")
    result = await harvest(client)

    assert source.parsed == [(str(path), size)]  # resumed at the old end of file
    assert result["providers"]["testlog"]["messages_added"] == 2
    assert result["providers"]["testlog"]["chats_updated"] == 1
    chat = await chat_by_source(client, "a")
    assert [m["content"] for m in chat["messages"]] == [f"message {i}" for i in range(4)]
    assert chat["message_count"] == 4


async def test_records_without_ids_are_deduplicated_by_content(
    client: httpx.AsyncClient, source: JsonlSource, home: Path
) -> None:
    path = home / ".testlog" / "a.jsonl"
    write(path, [record(0), record(0), record(1, "assistant", id="x1"), record(1, "assistant", id="x2")])
    await harvest(client)
    write(path, [record(0), record(2)], mode="a")  # a repeated record arrives again in the appended part
    await harvest(client)

    chat = await chat_by_source(client, "a")
    assert [m["content"] for m in chat["messages"]] == ["message 0", "message 1", "message 1", "message 2"]


async def test_rewritten_file_is_parsed_again_and_replaces_messages(
    client: httpx.AsyncClient, source: JsonlSource, home: Path
) -> None:
    path = home / ".testlog" / "a.jsonl"
    write(path, [record(0), record(1, "assistant")])
    await harvest(client)
    source.parsed.clear()

    write(path, [{"role": "user", "content": "a different start"}, record(5), record(6, "assistant")])
    result = await harvest(client)

    assert source.parsed == [(str(path), 0)]
    assert result["providers"]["testlog"]["chats_updated"] == 1
    chat = await chat_by_source(client, "a")
    assert [m["content"] for m in chat["messages"]] == ["a different start", "message 5", "message 6"]
    assert chat["message_count"] == 3


async def test_title_edited_by_the_user_survives_later_harvests(
    client: httpx.AsyncClient, source: JsonlSource, home: Path
) -> None:
    path = home / ".testlog" / "a.jsonl"
    other = home / ".testlog" / "b.jsonl"
    write(path, [record(0, title="first"), record(1, "assistant")])
    write(other, [record(0, title="first b")])
    await harvest(client)
    chat = await chat_by_source(client, "a")
    assert chat["title"] == "first"
    response = await client.put(f"/api/sessions/{chat['id']}", json={"title": "Mine"})
    assert response.status_code == 200, response.text

    write(path, [record(0, title="second"), record(5)])  # rewritten: parsed again, messages replaced
    write(other, [record(0, title="second b")])
    await harvest(client)
    chat = await chat_by_source(client, "a")
    assert chat["title"] == "Mine" and [m["content"] for m in chat["messages"]] == ["message 0", "message 5"]
    assert (await chat_by_source(client, "b"))["title"] == "second b"  # not edited: follows its source

    write(path, [record(6, "assistant", title="third")], mode="a")  # appended: resumed
    result = await harvest(client)
    assert result["providers"]["testlog"]["messages_added"] == 1
    chat = await chat_by_source(client, "a")
    assert chat["title"] == "Mine" and chat["message_count"] == 3
    found = (await client.get("/api/search/sessions", params={"q": "mine"})).json()["data"]
    assert [(s["id"], s["title_match"]) for s in found] == [(chat["id"], True)]  # the title index follows


async def test_deleted_file_keeps_its_chat_flagged(
    client: httpx.AsyncClient, source: JsonlSource, home: Path
) -> None:
    write(home / ".testlog" / "a.jsonl", [record(0)])
    write(home / ".testlog" / "b.jsonl", [record(0)])
    await harvest(client)

    (home / ".testlog" / "a.jsonl").unlink()
    await harvest(client)

    gone = await chat_by_source(client, "a")
    assert gone["source_missing"] is True and [m["content"] for m in gone["messages"]] == ["message 0"]
    assert (await chat_by_source(client, "b"))["source_missing"] is False
    status = (await client.get("/api/harvest/status")).json()["data"]
    assert status["providers"]["testlog"]["missing_units"] == 1


async def test_corrupt_line_is_reported_and_the_rest_stored(
    client: httpx.AsyncClient, source: JsonlSource, home: Path
) -> None:
    path = home / ".testlog" / "a.jsonl"
    write(path, [record(0), "{not json", record(1, "assistant")])

    result = await harvest(client)

    assert result["issues"] == [
        {"provider": "testlog", "path": str(path), "line": 2, "message": result["issues"][0]["message"]}
    ]
    assert result["errors"][0].startswith(f"testlog: {path}:2: corrupt record")
    assert result["providers"]["testlog"]["errors"] == 1
    chat = await chat_by_source(client, "a")
    assert [m["content"] for m in chat["messages"]] == ["message 0", "message 1"]


async def test_corrupt_file_is_reported_and_stored_chats_stay_intact(
    client: httpx.AsyncClient, source: JsonlSource, home: Path
) -> None:
    good = home / ".testlog" / "a.jsonl"
    other = home / ".testlog" / "b.jsonl"
    write(good, [record(0), record(1, "assistant")])
    await harvest(client)

    write(good, ["garbage", "more garbage"])  # rewritten into something unreadable
    write(other, ["RAISE"])  # a file whose parser raises
    result = await harvest(client)

    paths = {i["path"] for i in result["issues"]}
    assert paths == {str(good), str(other)}
    assert any("unreadable test log" in e for e in result["errors"])
    chat = await chat_by_source(client, "a")
    assert [m["content"] for m in chat["messages"]] == ["message 0", "message 1"]

    result = await harvest(client)  # still broken: reported again, still not lost
    assert {i["path"] for i in result["issues"]} == {str(good), str(other)}
    assert (await chat_by_source(client, "a"))["message_count"] == 2


async def test_unit_that_fails_to_store_rolls_back_alone(
    client: httpx.AsyncClient, source: JsonlSource, home: Path
) -> None:
    # The batch is first stored in one go; the failure sends it back unit by unit.
    write(home / ".testlog" / "a.jsonl", [record(0, cwd="/work/alpha"), record(1, "assistant")])
    bad = home / ".testlog" / "b.jsonl"
    write(bad, [record(0, cwd="/work/beta"), record(1, "assistant", usage={"input_tokens": 2**70})])
    write(home / ".testlog" / "c.jsonl", [record(0, cwd="/work/alpha"), record(1, "assistant")])

    result = await harvest(client)

    counts = result["providers"]["testlog"]
    assert counts["units_parsed"] == 2 and counts["chats_created"] == 2 and counts["messages_added"] == 4
    assert [(i["path"], i["message"].startswith("could not be stored")) for i in result["issues"]] == [
        (str(bad), True)
    ]
    assert [m["content"] for m in (await chat_by_source(client, "a"))["messages"]] == [
        "message 0",
        "message 1",
    ]
    assert (await chat_by_source(client, "c"))["message_count"] == 2
    listing = (await client.get("/api/sessions", params={"provider": "testlog"})).json()["data"]
    assert sorted(s["source_id"] for s in listing["sessions"]) == ["a", "c"]
    workspaces = (await client.get("/api/workspaces")).json()["data"]
    assert [w["path"] for w in workspaces] == ["/work/alpha"]

    again = await harvest(client)  # not recorded as harvested: tried again, reported again
    assert again["providers"]["testlog"]["units_skipped"] == 2
    assert [i["path"] for i in again["issues"]] == [str(bad)]


async def test_harvest_on_the_legacy_prefix_and_workspace_refresh(
    client: httpx.AsyncClient, source: JsonlSource, home: Path
) -> None:
    path = home / ".testlog" / "a.jsonl"
    write(path, [record(0, cwd="/work/beta")])
    write(home / ".testlog" / "z.jsonl", [record(0, cwd="/work/gamma")])
    result = await harvest(client, prefix="/api")
    assert result["providers"]["testlog"]["chats_created"] == 2
    [beta] = [w for w in (await client.get("/api/workspaces")).json()["data"] if w["name"] == "beta"]

    write(path, [record(1, "assistant")], mode="a")
    write(home / ".testlog" / "z.jsonl", [record(1, "assistant")], mode="a")
    source.parsed.clear()
    response = await client.post(f"/api/workspaces/{beta['id']}/refresh")

    assert response.status_code == 200
    data = response.json()["data"]
    assert data["workspace"]["session_count"] == 1
    assert data["harvest"]["providers"]["testlog"]["messages_added"] == 1
    assert [key for key, _ in source.parsed] == [str(path)]  # only the workspace's file


async def test_discover_lists_workspaces_and_providers_show_detection(
    client: httpx.AsyncClient, source: JsonlSource, home: Path
) -> None:
    write(home / ".testlog" / "a.jsonl", [record(0, cwd="/srv/delta")])

    response = await client.post("/api/workspaces/discover")
    assert response.status_code == 200
    assert "delta" in [w["name"] for w in response.json()["data"]]

    providers = (await client.get("/api/providers")).json()["data"]
    [mine] = [p for p in providers if p["id"] == "testlog"]
    assert mine["found"] is True and mine["paths"] == [str(home / ".testlog")]
    assert mine["chat_count"] == 1 and mine["kind"] == "harvest" and mine["name"] == "Test Log"
    one = (await client.get("/api/providers/testlog")).json()["data"]
    assert one == mine
    missing = await client.get("/api/providers/nope")
    assert missing.status_code == 404 and missing.json()["success"] is False


async def test_configured_roots_come_from_the_chat_settings(
    client: httpx.AsyncClient, source: JsonlSource, tmp_path: Path
) -> None:
    extra = tmp_path / "elsewhere"
    write(extra / "x.jsonl", [record(0)])
    from chasm.harvest import registry

    assert registry.configured_roots({"harvest": {"roots": {"testlog": [str(extra)]}}}, "testlog") == [
        str(extra)
    ]
    put = await client.put("/api/settings", json={"harvest": {"roots": {"testlog": [str(extra)]}}})
    assert put.status_code == 200, put.text

    result = await harvest(client)

    assert result["providers"]["testlog"]["chats_created"] == 1


async def test_unknown_provider_and_bad_body_use_the_chat_envelope(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/harvest", json={"providers": ["no-such-tool"]})
    assert response.status_code == 400
    error = response.json()["error"]
    assert response.json()["success"] is False and error["code"] == "UNKNOWN_PROVIDER"
    assert error["message"].startswith("Unknown provider(s): no-such-tool; valid: ")
    assert {"claude", "copilot", "claude-code"} <= set(error["details"]["valid"])
    response = await client.post("/api/harvest", json={"workspace_ids": ["not-a-uuid"]})
    assert response.status_code == 400 and response.json()["success"] is False


def test_mtime_only_change_is_reparsed(tmp_path: Path) -> None:
    from chasm.harvest.units import stat_fingerprint

    path = tmp_path / "f"
    path.write_text("x")
    first = stat_fingerprint([path])
    os.utime(path, ns=(1, 1))
    assert stat_fingerprint([path]) != first


async def test_untitled_chat_is_titled_by_its_first_real_prompt(
    client: httpx.AsyncClient, source: JsonlSource, home: Path
) -> None:
    path = home / ".testlog" / "untitled.jsonl"
    wrapper = "<local-command-stdout>Goodbye!</local-command-stdout>"
    write(path, [{"role": "user", "content": wrapper, "ts": T0}, record(1, "assistant")])
    await harvest(client)
    assert not (await chat_by_source(client, "untitled"))["title"]  # a wrapper is no prompt

    write(path, [{"role": "user", "content": "\n  Fix the   README\nand more", "ts": T0}], mode="a")
    await harvest(client)  # appended: the first prompt of the new part titles the untitled chat
    assert (await chat_by_source(client, "untitled"))["title"] == "Fix the README"

    write(path, [record(7)], mode="a")
    await harvest(client)  # a later prompt does not replace it
    chat = await chat_by_source(client, "untitled")
    assert chat["title"] == "Fix the README"

    await client.put(f"/api/sessions/{chat['id']}", json={"title": "Mine"})
    write(path, [record(8), record(9)])  # rewritten: parsed again whole
    await harvest(client)
    assert (await chat_by_source(client, "untitled"))["title"] == "Mine"
