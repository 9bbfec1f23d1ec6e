"""POST /harvest/upload: any user's own transcripts, parsed by the harvest sources, and nothing else
of the server read; archives unpacked safely into a private folder that is then removed."""

from __future__ import annotations

import io
import os
import stat
import tarfile
import time
import zipfile
from pathlib import Path

import httpx
import pytest
from access_helpers import CLAUDE_FILE, CODEX_FILE
from fastapi import FastAPI

from chasm.config import Settings


def tar_gz(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


async def upload(
    client: httpx.AsyncClient,
    files: list[tuple[str, bytes]],
    source: str | None = None,
    prefix: str = "/api",
) -> httpx.Response:
    data = {"source": source} if source else {}
    return await client.post(
        f"{prefix}/harvest/upload", files=[("files", (name, body)) for name, body in files], data=data
    )


def upload_dir_empty(settings: Settings) -> bool:
    tmp = settings.data_dir / "tmp"
    return not tmp.exists() or not any(tmp.iterdir())


async def test_a_second_user_uploads_transcripts_and_again_changes_nothing(
    second: httpx.AsyncClient, admin: httpx.AsyncClient, settings: Settings
) -> None:
    files = [(CLAUDE_FILE.name, CLAUDE_FILE.read_bytes()), (CODEX_FILE.name, CODEX_FILE.read_bytes())]
    first = await upload(second, files[:1], source="claude-code")
    assert first.status_code == 200, first.text
    report = first.json()["data"]
    assert report["status"] == "succeeded"
    assert report["providers"]["claude-code"]["chats_created"] >= 1
    codex = await upload(second, files[1:], source="codex", prefix="/api")
    assert codex.status_code == 200, codex.text
    assert codex.json()["data"]["providers"]["codex"]["chats_created"] >= 1

    listed = (await second.get("/api/sessions")).json()["data"]
    total = listed["total"]
    assert {c["provider"] for c in listed["sessions"]} == {"claude-code", "codex"}
    # The path is the file's own, relative to the upload: no server path.
    assert {c["source_path"] for c in listed["sessions"]} <= {
        f"claude-code/{CLAUDE_FILE.name}",
        f"codex/{CODEX_FILE.name}",
    }
    messages = sum(c["message_count"] for c in listed["sessions"])

    again = await upload(second, files[:1], source="claude-code")
    assert again.status_code == 200
    assert again.json()["data"]["providers"]["claude-code"]["chats_created"] == 0
    after = (await second.get("/api/sessions")).json()["data"]
    assert after["total"] == total
    assert sum(c["message_count"] for c in after["sessions"]) == messages

    # The server owner's own history was not read, and the upload folder is gone.
    assert (await admin.get("/api/sessions")).json()["data"]["total"] == 0
    assert upload_dir_empty(settings)

    # One an interrupted upload left behind a day ago goes with the next upload.
    left = settings.data_dir / "tmp" / "upload-left"
    left.mkdir()
    os.utime(left, (time.time() - 2 * 86400,) * 2)
    assert (await upload(second, files[:1], source="claude-code")).status_code == 200
    assert upload_dir_empty(settings)


async def test_an_archive_in_the_remote_layout_needs_no_source(second: httpx.AsyncClient) -> None:
    archive = tar_gz(
        {
            f"claude-code/0/-home-me-proj/{CLAUDE_FILE.name}": CLAUDE_FILE.read_bytes(),
            f"codex/0/2026/01/01/rollout-{CODEX_FILE.name}": CODEX_FILE.read_bytes(),
        }
    )
    r = await upload(second, [("history.tar.gz", archive)])
    assert r.status_code == 200, r.text
    providers = r.json()["data"]["providers"]
    assert providers["claude-code"]["chats_created"] >= 1 and providers["codex"]["chats_created"] >= 1

    zipped = io.BytesIO()
    with zipfile.ZipFile(zipped, "w") as z:
        z.writestr(f"claude-code/0/-home-me-proj/{CLAUDE_FILE.name}", CLAUDE_FILE.read_bytes())
    r = await upload(second, [("history.zip", zipped.getvalue())])
    assert r.status_code == 200, r.text
    assert r.json()["data"]["providers"]["claude-code"]["chats_created"] == 0  # the same chat

    r = await upload(second, [("notes/a.jsonl", b"{}\n")])
    assert r.status_code == 400
    assert r.json()["error"]["code"] == "INVALID_UPLOAD"
    r = await upload(second, [("a.jsonl", b"{}\n")], source="no-such-tool")
    assert r.status_code == 400
    assert r.json()["error"]["code"] == "UNKNOWN_PROVIDER"


def _tar_with(member: tarfile.TarInfo, data: bytes = b"") -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        archive.addfile(member, io.BytesIO(data) if member.isreg() else None)
    return buffer.getvalue()


def _member(name: str, kind: bytes = tarfile.REGTYPE, target: str = "", size: int = 1) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = target
    info.size = size if kind == tarfile.REGTYPE else 0
    return info


def _zip_symlink() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        info = zipfile.ZipInfo("claude-code/link.jsonl")
        info.external_attr = (stat.S_IFLNK | 0o777) << 16
        z.writestr(info, "/etc/passwd")
    return buffer.getvalue()


def _corrupt_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("claude-code/a.jsonl", b"{}\n" * 5000)
    data = bytearray(buffer.getvalue())
    start = data.index(b"a.jsonl") + len(b"a.jsonl")
    data[start + 5 : start + 25] = b"\xff" * 20
    return bytes(data)


@pytest.mark.parametrize(
    ("name", "body"),
    [
        ("evil.tar", _tar_with(_member("../escape.jsonl"), b"x")),
        ("evil.tar", _tar_with(_member("/tmp/absolute.jsonl"), b"x")),
        ("evil.tar", _tar_with(_member("claude-code/a/../../../up.jsonl"), b"x")),
        ("evil.tar", _tar_with(_member("claude-code/link.jsonl", tarfile.SYMTYPE, "/etc/passwd"))),
        ("evil.tar", _tar_with(_member("claude-code/hard.jsonl", tarfile.LNKTYPE, "/etc/passwd"))),
        ("evil.tar", _tar_with(_member("claude-code/dev", tarfile.CHRTYPE))),
        ("evil.tar", _tar_with(_member("claude-code/fifo", tarfile.FIFOTYPE))),
        ("evil.zip", _zip_symlink()),
        ("../plain.jsonl", b"{}\n"),
        ("evil.zip", b"not a zip"),
        ("cut.tar.gz", tar_gz({"claude-code/a.jsonl": os.urandom(50_000)})[:2000]),
        ("corrupt.zip", _corrupt_zip()),
    ],
)
async def test_unsafe_uploads_are_refused_and_leave_nothing(
    second: httpx.AsyncClient, settings: Settings, tmp_path: Path, name: str, body: bytes
) -> None:
    r = await upload(second, [(name, body)], source="claude-code")
    assert r.status_code == 400, r.text
    assert r.json()["error"]["code"] == "INVALID_UPLOAD"
    assert upload_dir_empty(settings)
    assert not (settings.data_dir / "escape.jsonl").exists()
    assert not (settings.data_dir / "tmp" / "up.jsonl").exists()
    assert (await second.get("/api/sessions")).json()["data"]["total"] == 0


async def test_an_upload_past_the_cap_is_refused(
    app: FastAPI, second: httpx.AsyncClient, settings: Settings
) -> None:
    app.state.settings = settings.model_copy(update={"harvest_upload_max_bytes": 1000})
    archive = tar_gz({"claude-code/big.jsonl": b"x" * 5000})
    r = await upload(second, [("big.tar.gz", archive)])
    assert r.status_code == 413
    assert r.json()["error"]["code"] == "UPLOAD_TOO_LARGE"
    assert upload_dir_empty(settings)


async def test_upload_needs_the_harvest_scope(app: FastAPI, admin: httpx.AsyncClient) -> None:
    from auth.idhelpers import client_for, make_key

    reader = await make_key(admin, "reader", scopes=["chats.read"])
    async with client_for(app, reader) as c:
        r = await upload(c, [(CLAUDE_FILE.name, CLAUDE_FILE.read_bytes())], source="claude-code")
    assert r.status_code == 403
    assert r.json()["error"]["code"] == "INSUFFICIENT_SCOPE"
    uploader = await make_key(admin, "uploader", scopes=["harvest.run"])
    async with client_for(app, uploader) as c:
        r = await upload(c, [(CLAUDE_FILE.name, CLAUDE_FILE.read_bytes())], source="claude-code")
        assert r.status_code == 200, r.text
        # harvest.run alone lets a key upload, not read the server's folders (the owner's key is an
        # instance administrator's, and may).
        assert (await c.post("/api/harvest", json={})).status_code == 200


async def test_uploaded_chats_show_no_server_folder(second: httpx.AsyncClient, settings: Settings) -> None:
    """Sources that name a chat's project after the file's folder (Aider, Cline) or quote a path in
    an error would show the upload's folder under the data dir; nothing of it reaches the user."""
    fixtures = CLAUDE_FILE.parents[1]
    aider = fixtures / "aider" / "zen-mcp-server_.aider.chat.history.md"
    cline = fixtures / "cline" / "gmfstu_tasks_1769053680585"
    members = {"aider/0/project/.aider.chat.history.md": aider.read_bytes()}
    members |= {f"cline/0/tasks/1769053680585/{p.name}": p.read_bytes() for p in cline.iterdir()}
    members["cursor/0/workspaceStorage/0a1b/state.vscdb"] = b"not a database"
    members["cursor/0/workspaceStorage/0a1b/workspace.json"] = b'{"folder": "file:///home/me/proj"}'
    r = await upload(second, [("laptop.tar.gz", tar_gz(members))])
    assert r.status_code == 200, r.text
    report = r.json()["data"]
    assert report["providers"]["aider"]["chats_created"] >= 1
    assert report["providers"]["cline"]["chats_created"] >= 1
    shown = [r.text]
    for path in ("/api/workspaces", "/api/v1/workspaces", "/api/sessions?limit=100"):
        shown.append((await second.get(path)).text)
    for chat in (await second.get("/api/v1/sessions?limit=100")).json()["sessions"]:
        shown.append((await second.get(f"/api/v1/sessions/{chat['id']}")).text)
    data_dir = str(settings.data_dir)
    assert [text for text in shown if data_dir in text] == []
    workspaces = (await second.get("/api/v1/workspaces")).json()
    assert any(w["path"] == "aider/0/project" for w in workspaces), workspaces
