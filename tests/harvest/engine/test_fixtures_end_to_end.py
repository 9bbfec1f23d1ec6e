"""Every real fixture harvested through the API, with the parsers registered as entry points."""

from __future__ import annotations

import shutil
from pathlib import Path

import httpx

from chasm.harvest import registry
from shared_fixtures import TRANSCRIPTS


async def test_fixture_tree_harvests_end_to_end_and_again_parses_nothing(
    client: httpx.AsyncClient, tmp_path: Path
) -> None:
    sources = registry.get_registry().sources
    tree = tmp_path / "transcripts"
    shutil.copytree(TRANSCRIPTS, tree)
    roots = {name: [str(tree / name)] for name in sources if (tree / name).is_dir()}
    assert roots, "no fixture folder matches a harvest source"
    put = await client.put("/api/settings", json={"harvest": {"roots": roots}})
    assert put.status_code == 200, put.text

    first = (await client.post("/api/harvest", json={"providers": sorted(roots)})).json()["data"]

    assert first["sessions_count"] > 0 and first["messages_count"] > 0
    listed = (await client.get("/api/sessions", params={"limit": 1})).json()["data"]
    assert listed["total"] == first["sessions_count"]
    for name, counts in first["providers"].items():
        assert counts["units_parsed"] + counts["units_skipped"] <= counts["units_seen"], name
    chat = (await client.get(f"/api/sessions/{listed['sessions'][0]['id']}")).json()["data"]
    assert chat["message_count"] == len(chat["messages"]) > 0

    again = (await client.post("/api/harvest", json={"providers": sorted(roots)})).json()["data"]

    assert {n: c["units_parsed"] for n, c in again["providers"].items()} == dict.fromkeys(roots, 0)
    assert again["messages_count"] == 0
    after = (await client.get("/api/sessions", params={"limit": 1})).json()["data"]
    assert after["total"] == listed["total"]
    providers = {p["id"]: p for p in (await client.get("/api/providers")).json()["data"]}
    assert all(providers[name]["found"] for name in roots)


async def test_every_fixture_chat_with_a_prompt_has_a_title(
    client: httpx.AsyncClient, tmp_path: Path
) -> None:
    sources = registry.get_registry().sources
    tree = tmp_path / "transcripts"
    shutil.copytree(TRANSCRIPTS, tree)
    roots = {name: [str(tree / name)] for name in sources if (tree / name).is_dir()}
    await client.put("/api/settings", json={"harvest": {"roots": roots}})
    await client.post("/api/harvest", json={"providers": sorted(roots)})

    listed = []
    while len(listed) < 1000:
        page = (await client.get("/api/sessions", params={"limit": 100, "offset": len(listed)})).json()
        listed += page["data"]["sessions"]
        if not page["data"]["sessions"] or len(listed) >= page["data"]["total"]:
            break
    untitled = []
    for summary in listed:
        chat = (await client.get(f"/api/sessions/{summary['id']}")).json()["data"]
        prompts = [m for m in chat["messages"] if m["role"] == "user" and m["content"].strip()]
        if prompts and not chat["title"]:
            untitled.append((chat["provider"], chat["source_id"]))
        for m in chat["messages"]:  # wrappers the person never typed are system messages
            if m["content"].lstrip().startswith(("<command-name>", "<local-command-stdout>", "Caveat: ")):
                assert m["role"] == "system", (chat["provider"], m["content"][:40])
    assert untitled == []
    assert len(listed) > 20
