from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI

pytestmark = pytest.mark.sandbox


async def _upload(admin: httpx.AsyncClient, sid: str, path: str, data: bytes) -> httpx.Response:
    return await admin.post(
        f"/v1/sessions/{sid}/upload",
        data={"path": path},
        files={"file": ("blob", data, "application/octet-stream")},
    )


async def test_upload_then_download(admin: httpx.AsyncClient, sandbox: dict[str, Any]) -> None:
    sid = sandbox["id"]
    payload = bytes(range(256)) * 1000
    r = await _upload(admin, sid, "data/blob.bin", payload)
    assert r.status_code == 200, r.text
    assert r.json() == {"path": "/workspace/data/blob.bin", "size": len(payload)}
    seen = await admin.post(f"/v1/sessions/{sid}/exec", json={"command": "wc -c < data/blob.bin"})
    assert seen.json()["output"].strip() == str(len(payload))

    down = await admin.get(f"/v1/sessions/{sid}/download", params={"path": "/workspace/data/blob.bin"})
    assert down.status_code == 200
    assert down.content == payload
    assert down.headers["content-type"] == "application/octet-stream"

    await admin.post(f"/v1/sessions/{sid}/exec", json={"command": "echo '{\"a\": 1}' > /tmp/x.json"})
    j = await admin.get(f"/v1/sessions/{sid}/download", params={"path": "/tmp/x.json"})
    assert j.headers["content-type"] == "application/json" and j.json() == {"a": 1}
    missing = await admin.get(f"/v1/sessions/{sid}/download", params={"path": "nope.txt"})
    assert missing.status_code == 404


async def test_traversal_is_refused(admin: httpx.AsyncClient, sandbox: dict[str, Any]) -> None:
    sid = sandbox["id"]
    for path in ("../etc/passwd", "/etc/passwd", "a/../../x", "/workspace/../etc/hosts", "", "/"):
        up = await _upload(admin, sid, path, b"x")
        assert up.status_code == 400, (path, up.text)
        down = await admin.get(f"/v1/sessions/{sid}/download", params={"path": path})
        assert down.status_code == 400, path


async def test_symlinks_leading_outside_are_refused(
    admin: httpx.AsyncClient, sandbox: dict[str, Any]
) -> None:
    sid = sandbox["id"]
    await admin.post(f"/v1/sessions/{sid}/exec", json={"command": "ln -s /etc/passwd leak; ln -s / root"})
    assert (await admin.get(f"/v1/sessions/{sid}/download", params={"path": "leak"})).status_code == 400
    assert (
        await admin.get(f"/v1/sessions/{sid}/download", params={"path": "root/etc/hosts"})
    ).status_code == 400
    assert (await _upload(admin, sid, "root/etc/evil", b"x")).status_code == 400


async def test_upload_over_the_limit_is_413(
    admin: httpx.AsyncClient, app: FastAPI, sandbox: dict[str, Any]
) -> None:
    limit = app.state.settings.upload_max_bytes
    r = await _upload(admin, sandbox["id"], "big.bin", b"\0" * (limit + 1))
    assert r.status_code == 413
    assert r.json()["error"]["code"] in ("file_too_large", "payload_too_large")

    async def chunked() -> Any:  # no Content-Length: the limit is enforced while streaming
        boundary = "XyZ"
        yield f'--{boundary}\r\nContent-Disposition: form-data; name="path"\r\n\r\nbig.bin\r\n'.encode()
        yield f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="b"\r\n\r\n'.encode()
        for _ in range(limit // 65536 + 2):
            yield b"\0" * 65536
        yield f"\r\n--{boundary}--\r\n".encode()

    r = await admin.post(
        f"/v1/sessions/{sandbox['id']}/upload",
        content=chunked(),
        headers={"Content-Type": "multipart/form-data; boundary=XyZ"},
    )
    assert r.status_code == 413
    listing = await admin.post(f"/v1/sessions/{sandbox['id']}/exec", json={"command": "ls"})
    assert "big.bin" not in listing.json()["output"]


async def test_malformed_upload_is_400(admin: httpx.AsyncClient, sandbox: dict[str, Any]) -> None:
    r = await admin.post(f"/v1/sessions/{sandbox['id']}/upload", json={"path": "x"})
    assert r.status_code == 400
    only_path = await admin.post(f"/v1/sessions/{sandbox['id']}/upload", files={"path": (None, "x")})
    assert only_path.status_code == 400


async def test_files_scopes(admin: httpx.AsyncClient, app: FastAPI, sandbox: dict[str, Any]) -> None:
    from sessions.fixtures import scoped_client

    async with await scoped_client(app, admin, ["files.read"]) as reader:
        assert (await _upload(reader, sandbox["id"], "x", b"x")).status_code == 403
        r = await reader.get(f"/v1/sessions/{sandbox['id']}/download", params={"path": "x"})
        assert r.status_code == 404
