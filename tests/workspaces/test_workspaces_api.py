from __future__ import annotations

import uuid

import httpx
import pytest
from fastapi import FastAPI

pytestmark = pytest.mark.sandbox


async def _create(admin: httpx.AsyncClient, **body: object) -> dict:  # type: ignore[type-arg]
    r = await admin.post("/v1/workspaces", json={"session_type": "sandbox", **body})
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


async def test_create_list_get_by_name_or_id(admin: httpx.AsyncClient) -> None:
    ws = await _create(admin, name="My-Project")
    assert ws["name"] == "My-Project"
    assert ws["session_type"] == "sandbox"
    assert ws["template"] is False
    assert ws["active_session_id"] is None
    assert ws["quota_bytes"] > 0
    for selector in ("my-project", "MY-PROJECT", ws["id"]):
        r = await admin.get(f"/v1/workspaces/{selector}")
        assert r.status_code == 200, r.text
        assert r.json()["id"] == ws["id"]
    listed = (await admin.get("/v1/workspaces")).json()["items"]
    assert [w["id"] for w in listed] == [ws["id"]]


async def test_names_unique_case_insensitive_and_validated(admin: httpx.AsyncClient) -> None:
    await _create(admin, name="alpha")
    r = await admin.post("/v1/workspaces", json={"session_type": "sandbox", "name": "ALPHA"})
    assert r.status_code == 409
    assert r.json()["error"]["code"] == "workspace_name_taken"
    r = await admin.post("/v1/workspaces", json={"session_type": "sandbox", "name": "x" * 65})
    assert r.status_code == 422
    r = await admin.post("/v1/workspaces", json={"session_type": "sandbox", "name": "../etc"})
    assert r.status_code == 400
    assert r.json()["error"]["code"] == "invalid_workspace_name"
    generated = await _create(admin)
    assert generated["name"] and len(generated["name"]) <= 64
    r = await admin.post("/v1/workspaces", json={"session_type": "sandbox", "bogus": 1})
    assert r.status_code == 422
    assert len((await admin.get("/v1/workspaces")).json()["items"]) == 2


async def test_rename_template_and_clone(admin: httpx.AsyncClient, app: FastAPI) -> None:
    ws = await _create(admin, name="base")
    r = await admin.put("/v1/workspaces/base/name", json={"name": "golden"})
    assert r.status_code == 200 and r.json()["name"] == "golden"
    assert (await admin.get("/v1/workspaces/base")).status_code == 404
    r = await admin.post("/v1/workspaces", json={"session_type": "sandbox", "clone_from": "golden"})
    assert r.status_code == 400 and r.json()["error"]["code"] == "not_a_template"
    r = await admin.put("/v1/workspaces/golden/template", json={"template": True})
    assert r.status_code == 200 and r.json()["template"] is True
    storage = app.state.sandbox.storage
    root = await storage.mount(ws["id"])
    (root / "hello.txt").write_text("from the template")
    clone = await _create(admin, name="copy", clone_from="golden")
    assert clone["source_workspace_id"] == ws["id"]
    assert (await storage.mount(clone["id"]) / "hello.txt").read_text() == "from the template"
    r = await admin.put(f"/v1/workspaces/{ws['id']}/name", json={"name": None})
    assert r.status_code == 200 and r.json()["name"] not in ("golden", "")


async def test_snapshots_restore_exactly(admin: httpx.AsyncClient, app: FastAPI) -> None:
    ws = await _create(admin, name="snappy")
    root = await app.state.sandbox.storage.mount(ws["id"])
    (root / "a.txt").write_text("one")
    (root / "sub").mkdir()
    (root / "sub" / "run.sh").write_text("#!/bin/sh\necho hi\n")
    (root / "sub" / "run.sh").chmod(0o755)
    (root / "link").symlink_to("sub/run.sh")
    r = await admin.post("/v1/workspaces/snappy/snapshots", json={"name": "v1"})
    assert r.status_code == 201, r.text
    assert r.json()["file_count"] >= 2
    r = await admin.post("/v1/workspaces/snappy/snapshots", json={"name": "v1"})
    assert r.status_code == 409
    (root / "a.txt").write_text("two")
    (root / "new.txt").write_text("added later")
    (root / "sub" / "run.sh").chmod(0o644)
    (root / "link").unlink()
    r = await admin.post("/v1/workspaces/snappy/snapshots/v1/restore")
    assert r.status_code == 200, r.text
    assert (root / "a.txt").read_text() == "one"
    assert not (root / "new.txt").exists()
    assert (root / "sub" / "run.sh").stat().st_mode & 0o777 == 0o755
    assert (root / "link").is_symlink() and str((root / "link").readlink()) == "sub/run.sh"
    names = [s["name"] for s in (await admin.get("/v1/workspaces/snappy/snapshots")).json()["items"]]
    assert names == ["v1"]
    assert (await admin.delete("/v1/workspaces/snappy/snapshots/v1")).status_code == 204
    assert (await admin.post("/v1/workspaces/snappy/snapshots/v1/restore")).status_code == 404


async def test_delete_and_bulk_delete(admin: httpx.AsyncClient, app: FastAPI) -> None:
    ws = await _create(admin, name="doomed")
    root = await app.state.sandbox.storage.mount(ws["id"])
    assert (await admin.delete("/v1/workspaces/doomed")).status_code == 204
    assert (await admin.get("/v1/workspaces/doomed")).status_code == 404
    assert not root.exists() or not any(root.iterdir())
    await _create(admin, name="b1")
    await _create(admin, name="b2")
    r = await admin.post("/v1/workspaces/bulk-delete", json={"workspaces": ["b1", "b2", "nope"]})
    assert r.status_code == 200
    body = r.json()
    assert body["deleted"] == 2
    assert [x["deleted"] for x in body["results"]] == [True, True, False]
    assert (await admin.get("/v1/workspaces")).json()["items"] == []


async def test_other_accounts_workspace_is_404(admin: httpx.AsyncClient, app: FastAPI) -> None:
    ws = await _create(admin, name="private")
    r = await admin.post("/auth/register", json={"email": "eve@example.com", "password": "correct horse 1"})
    assert r.status_code in (200, 201), r.text
    r = await admin.post("/auth/login", json={"email": "eve@example.com", "password": "correct horse 1"})
    token = r.json()["access_token"]
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50002))
    async with httpx.AsyncClient(
        transport=transport, base_url="http://127.0.0.1", headers={"Authorization": f"Bearer {token}"}
    ) as eve:
        for selector in ("private", ws["id"]):
            assert (await eve.get(f"/v1/workspaces/{selector}")).status_code == 404
            assert (await eve.delete(f"/v1/workspaces/{selector}")).status_code == 404
        assert (await eve.get("/v1/workspaces")).json()["items"] == []


async def test_scopes(admin: httpx.AsyncClient, app: FastAPI) -> None:
    r = await admin.post("/v1/keys", json={"name": "ro", "scopes": ["workspaces.read"]})
    assert r.status_code == 201, r.text
    auth = {"Authorization": f"Bearer {r.json()['key']}"}
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50003))
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1", headers=auth) as ro:
        assert (await ro.get("/v1/workspaces")).status_code == 200
        r = await ro.post("/v1/workspaces", json={"session_type": "sandbox"})
        assert r.status_code == 403
        assert r.json()["error"]["code"] == "insufficient_scope"


async def test_import_clones_a_local_repository(
    admin: httpx.AsyncClient,
    app: FastAPI,
    tmp_path,
    monkeypatch,  # type: ignore[no-untyped-def]
) -> None:
    import asyncio
    import subprocess

    origin = tmp_path / "git" / "acme" / "tools"
    origin.mkdir(parents=True)
    run = lambda *a: subprocess.run(a, cwd=origin, check=True, capture_output=True)  # noqa: E731
    run("git", "init", "-q", "-b", "main")
    (origin / "README.md").write_text("# tools\n")
    run("git", "add", ".")
    run("git", "-c", "user.email=t@t", "-c", "user.name=t", "commit", "-qm", "init")
    subprocess.run(["git", "clone", "-q", "--bare", str(origin), str(origin) + ".git"], check=True)
    app.state.settings.github_base_url = f"file://{tmp_path / 'git'}"
    r = await admin.post("/v1/workspaces/import", json={"github_repo": "acme/tools", "name": "tools"})
    assert r.status_code == 202, r.text
    body = r.json()
    assert body["github_repo"] == "acme/tools"
    assert body["status"] == "importing"
    for _ in range(200):
        job = (await admin.get(f"/v1/jobs/{body['job_id']}")).json()
        if job["status"] in ("succeeded", "failed"):
            break
        await asyncio.sleep(0.05)
    assert job["status"] == "succeeded", job
    ws = (await admin.get("/v1/workspaces/tools")).json()
    assert ws["status"] == "ready"
    root = await app.state.sandbox.storage.mount(ws["id"])
    assert (root / "README.md").read_text() == "# tools\n"
    assert (root / ".git").is_dir()


async def test_import_refuses_local_paths(admin: httpx.AsyncClient) -> None:
    for bad in ("/etc", "file:///etc", "ext::sh -c id", "not a repo"):
        r = await admin.post("/v1/workspaces/import", json={"github_repo": bad})
        assert r.status_code == 400, bad
        assert r.json()["error"]["code"] == "invalid_repository"
    assert (await admin.get("/v1/workspaces")).json()["items"] == []


def test_uuid_names_are_refused() -> None:
    from chasm.kit.errors import BadRequest
    from chasm.workspaces.names import validate_name

    with pytest.raises(BadRequest):
        validate_name(str(uuid.uuid4()))


async def test_create_refuses_what_no_session_could_start_on(admin: httpx.AsyncClient) -> None:
    browser = await admin.post(
        "/v1/workspaces", json={"session_type": "browser", "name": "web", "image": "x"}
    )
    assert browser.status_code == 400
    phone = await admin.post("/v1/workspaces", json={"session_type": "phone", "name": "web"})
    assert phone.status_code == 422  # not a session type at all: the schema refuses it
    unknown = await admin.post("/v1/workspaces", json={"session_type": "sandbox", "image": "no-such-image"})
    assert unknown.status_code == 400
    assert unknown.json()["error"]["code"] == "unknown_image"
    assert (await admin.get("/v1/workspaces")).json()["items"] == []  # nothing half-made
    web = await admin.post("/v1/workspaces", json={"session_type": "browser", "name": "web"})
    assert web.status_code == 201 and web.json()["session_type"] == "browser"
