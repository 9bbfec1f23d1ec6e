"""Workspaces, snapshots, git import, jobs, keys and the chat library through both clients against
a real server, and the typed errors each surface's refusals become."""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from chasm.client import Chasm, Conflict, Forbidden, NotFound, Unauthorized, ValidationError
from chasm.client.aio import AsyncChasm
from client.conftest import ServerThread


@pytest.fixture(scope="module")
def client(live_server: ServerThread) -> Iterator[Chasm]:
    with Chasm(live_server.url, live_server.key) as c:
        yield c


def test_workspaces_and_snapshots(client: Chasm) -> None:
    ws = client.workspaces.create("client-ws")
    assert (ws.name, ws.session_type, ws.template) == ("client-ws", "sandbox", False)
    assert isinstance(ws.created_at, datetime)
    assert client.workspaces.get(ws.id).name == "client-ws"  # by id or by name
    assert "client-ws" in [w.name for w in client.workspaces.list()]
    assert client.workspaces.rename("client-ws", "client-renamed").name == "client-renamed"
    assert client.workspaces.set_template("client-renamed").template is True
    snap = client.workspaces.snapshots.create("client-renamed", "s1")
    assert snap.name == "s1" and snap.workspace_id == ws.id
    assert [s.name for s in client.workspaces.snapshots.list("client-renamed", limit=10)] == ["s1"]
    assert [s.name for s in client.workspaces.snapshots.iter("client-renamed")] == ["s1"]
    assert client.workspaces.snapshots.restore("client-renamed", "s1").name == "s1"
    clone = client.workspaces.create("client-clone", clone_from="client-renamed")
    assert clone.source_workspace_id == ws.id
    with pytest.raises(Conflict) as taken:
        client.workspaces.create("CLIENT-CLONE")
    assert taken.value.status_code == 409
    client.workspaces.snapshots.delete("client-renamed", "s1")
    for name in ("client-renamed", "client-clone"):
        client.workspaces.delete(name)
    with pytest.raises(NotFound) as gone:
        client.workspaces.get("client-renamed")
    assert gone.value.code == "workspace_not_found"


def test_import_git_and_wait_for_its_job(client: Chasm, live_server: ServerThread, tmp_path: Path) -> None:
    origin = tmp_path / "git" / "acme" / "tools"
    origin.mkdir(parents=True)
    git = ["git", "-c", "user.email=t@t", "-c", "user.name=t"]
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=origin, check=True)
    (origin / "README.md").write_text("# tools\n")
    subprocess.run([*git, "add", "."], cwd=origin, check=True)
    subprocess.run([*git, "commit", "-qm", "init"], cwd=origin, check=True)
    subprocess.run(["git", "clone", "-q", "--bare", str(origin), f"{origin}.git"], check=True)
    live_server.app.state.settings.github_base_url = f"file://{tmp_path / 'git'}"
    ws = client.workspaces.import_git("acme/tools", name="tools")
    assert ws.github_repo == "acme/tools" and ws.job_id
    job = client.jobs.wait(ws.job_id, timeout=60)
    assert job.status == "succeeded", job.error
    assert client.workspaces.get("tools").status == "ready"
    client.workspaces.delete("tools")


def test_jobs(client: Chasm) -> None:
    kinds = {k.kind: k for k in client.jobs.kinds()}
    assert "audit.prune" in kinds and kinds["audit.prune"].input_schema["type"] == "object"
    done = client.jobs.wait(client.jobs.create("audit.prune", {"older_than_days": 30}).id, timeout=60)
    assert done.status == "succeeded" and done.result is not None and done.finished
    later = client.jobs.create(
        "audit.prune", {"older_than_days": 30}, run_at=datetime.now(UTC) + timedelta(hours=1)
    )
    assert later.status == "queued"
    assert client.jobs.cancel(later.id).status == "canceled"
    assert client.jobs.get(later.id).status == "canceled"
    listed = [j.id for j in client.jobs.iter(kind="audit.prune")]
    assert {done.id, later.id} <= set(listed)
    with pytest.raises(ValidationError):
        client.jobs.create("audit.prune", {"older_than_days": "soon"})


def test_keys_and_auth_errors(client: Chasm, live_server: ServerThread) -> None:
    reader = client.keys.create("reader", scopes=["workspaces.read"])
    assert reader.key and reader.key.startswith("sk_") and reader.scopes == ["workspaces.read"]
    listed = {k.id: k for k in client.keys.list()}
    assert reader.id in listed and listed[reader.id].key is None  # the secret is shown once
    first = client.keys.list(limit=1)
    assert len(first.items) == 1 and first.total == len(listed) and first.has_more
    assert {k.id for k in client.keys.iter()} == set(listed)  # every page, walked
    with Chasm(live_server.url, reader.key) as scoped:
        scoped.workspaces.list()
        with pytest.raises(Forbidden) as denied:
            scoped.workspaces.create("not-allowed")
        assert denied.value.status_code == 403
    assert client.keys.revoke(reader.id).revoked_at is not None
    with Chasm(live_server.url, reader.key) as revoked, pytest.raises(Unauthorized) as unknown:
        revoked.workspaces.list()
    assert unknown.value.status_code == 401 and unknown.value.code


def test_environment_names_the_server(live_server: ServerThread, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHASM_URL", live_server.url)
    monkeypatch.setenv("CHASM_API_KEY", live_server.key)
    with Chasm() as from_env:
        assert from_env.base_url == live_server.url
        assert len(from_env.keys.list()) >= 1


def _chat(client: Chasm, word: str) -> str:
    chat = client.chats.create(
        f"Client {word}",
        messages=[
            {"role": "user", "content": f"how do I tune the {word} cache?"},
            {"role": "assistant", "content": f"Raise the {word} limit, then restart."},
        ],
        tags=["client"],
    )
    return chat.id


def test_chats_search_get_messages_export(client: Chasm) -> None:
    word = f"zq{uuid.uuid4().hex[:8]}"
    chat_id = _chat(client, word)
    found = client.chats.search(word)
    assert [c.id for c in found.sessions] == [chat_id]
    assert found.total == 2 and all("<mark>" in m.snippet for m in found.messages)
    detail = client.chats.get(chat_id)
    assert [m.role for m in detail.messages] == ["user", "assistant"]
    assert detail.messages[0].content == f"how do I tune the {word} cache?"
    assert [m.seq for m in client.chats.iter_messages(chat_id)] == [m.seq for m in detail.messages]
    first = client.chats.messages(chat_id, limit=1)
    assert len(first) == 1 and first.has_more
    assert chat_id in [c.id for c in client.chats.iter()]
    page = client.chats.list(limit=1)
    assert page.total is not None and page.total >= 1 and len(page) == 1
    tagged = client.chats.update(_chat(client, word + "b"), tags=["client", word]).id
    assert [c.id for c in client.chats.list(tags=["client", word])] == [tagged]
    assert [c.id for c in client.chats.iter(tags=[word], model="no-such-model")] == []
    client.chats.delete(tagged)
    assert word in client.chats.export(chat_id, "markdown").decode()
    assert client.chats.update(chat_id, title="Renamed", tags=["a"]).title == "Renamed"
    assert client.chats.archive(chat_id).archived is True
    with pytest.raises(ValidationError) as bad_format:
        client.chats.export(chat_id, "docx")
    assert bad_format.value.status_code == 400
    client.chats.delete(chat_id)
    with pytest.raises(NotFound) as gone:
        client.chats.get(chat_id)
    assert gone.value.code == "SESSION_NOT_FOUND"  # spec 001's error object, read the same way


async def test_async_client(live_server: ServerThread, client: Chasm) -> None:
    word = f"zq{uuid.uuid4().hex[:8]}"
    chat_id = _chat(client, word)
    async with AsyncChasm(live_server.url, live_server.key) as aclient:
        found = await aclient.chats.search(word)
        assert [c.id for c in found.chats] == [chat_id]
        assert chat_id in [c.id for c in await aclient.chats.list(tags=["client"], archived=False)]
        assert len(await aclient.chats.list(tags=["client"], model="no-such-model")) == 0
        assert len((await aclient.chats.get(chat_id)).messages) == 2
        assert [m.role async for m in aclient.chats.iter_messages(chat_id)] == ["user", "assistant"]
        ws = await aclient.workspaces.create("async-ws")
        assert ws.name in [w.name async for w in aclient.workspaces.iter()]
        await aclient.workspaces.snapshots.create("async-ws", "a1")
        assert [s.name for s in await aclient.workspaces.snapshots.list("async-ws")] == ["a1"]
        await aclient.workspaces.delete("async-ws")
        job = await aclient.jobs.create("audit.prune", {"older_than_days": 7})
        assert (await aclient.jobs.wait(job.id, timeout=60)).status == "succeeded"
        key = await aclient.keys.create("async-key")
        assert key.id in [k.id for k in await aclient.keys.list()]
        await aclient.keys.revoke(key.id)
        with pytest.raises(NotFound) as missing:
            await aclient.workspaces.get("no-such-workspace")
        assert missing.value.code == "workspace_not_found"
