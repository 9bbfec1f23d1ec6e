"""The two published snapshot escapes, end to end: sandbox code attacks the snapshot store of its
own live workspace through `force=true` snapshots and restores (real sandbox, real API)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

pytestmark = pytest.mark.sandbox
SECRET = b"ROOT-ONLY-HOST-SECRET"
# Sandbox code swapping `v` for a regular file, a symlink to the host's secret, /dev/zero and a
# FIFO as fast as it can (each step a rename, as in the published reproduction).
SWAP = (
    "cd /workspace; echo harmless > h; "
    "while :; do cp h .t && mv -f .t v; ln -sfn {secret} .t && mv -fT .t v; "
    "ln -sfn /dev/zero .t && mv -fT .t v; mkfifo .f && mv -fT .f v; done"
)


@pytest.fixture
def secret(tmp_path: Path) -> Path:
    path = tmp_path / "host-secret"
    path.write_bytes(SECRET)
    path.chmod(0o600)
    return path


async def _exec(admin: httpx.AsyncClient, sid: str, command: str, **extra: Any) -> dict[str, Any]:
    r = await admin.post(f"/v1/sessions/{sid}/exec", json={"command": command, **extra})
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def _state(path: Path) -> tuple[bytes, int, int, int]:
    st = path.stat()
    return path.read_bytes(), st.st_mode, st.st_uid, st.st_mtime_ns


async def test_snapshots_and_restores_of_a_live_workspace_never_reach_the_host(
    app: FastAPI, admin: httpx.AsyncClient, secret: Path
) -> None:
    r = await admin.post("/v1/workspaces", json={"name": "target"})
    assert r.status_code == 201, r.text
    session = (await admin.post("/v1/sessions", json={"workspace": "target"})).json()
    sid = session["id"]
    # Escape 1: a planted `<file>.chasm-restore` symlink to a host file, and a set-user-id file.
    plant = f"cd /workspace; printf 'pwned' > a; chmod 4755 a; ln -s {secret} a.chasm-restore"
    assert (await _exec(admin, sid, plant))["exit_code"] == 0
    before = _state(secret)
    r = await admin.post("/v1/workspaces/target/snapshots?force=true", json={"name": "planted"})
    assert r.status_code == 201, r.text
    assert (await _exec(admin, sid, f"rm /workspace/a; ln -s {secret} /workspace/a"))["exit_code"] == 0
    r = await admin.post("/v1/workspaces/target/snapshots/planted/restore?force=true")
    assert r.status_code == 200, r.text
    assert _state(secret) == before
    mode = await _exec(admin, sid, "stat -c %a /workspace/a; cat /workspace/a")
    assert mode["output"] == "755\npwned"  # restored in the workspace, without the set-uid bit

    # Escape 2: a loop swapping an entry while force=true snapshots and restores run.
    await _exec(admin, sid, SWAP.format(secret=secret), background=True)
    names = [f"race{i}" for i in range(15)]
    for name in names:
        r = await admin.post("/v1/workspaces/target/snapshots?force=true", json={"name": name})
        assert r.status_code == 201, r.text
    for name in names[:5]:
        r = await admin.post(f"/v1/workspaces/target/snapshots/{name}/restore?force=true")
        assert r.status_code in (200, 500), r.text  # the loop may fight a restore; never escapes
    store = app.state.settings.data_dir / "snapshots"
    seen = set()
    for manifest in store.glob("manifests/*.json"):
        for entry in json.loads(manifest.read_text())["entries"]:
            if entry["path"] == "v":
                seen.add(entry["type"] + ":" + entry.get("target", ""))
    assert seen & {f"symlink:{secret}", "symlink:/dev/zero"}, seen  # the loop did race them
    blobs = list(store.glob("blobs/??/*"))
    assert not [b for b in blobs if SECRET in b.read_bytes()]
    assert all(b.stat().st_size < 100 for b in blobs)  # nothing from /dev/zero, no FIFO hang
    assert _state(secret) == before
