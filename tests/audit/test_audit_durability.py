"""An acknowledged mutation's audit event is in the database: it is written in the request's own
transaction (no commit of its own), which commits before the response is sent. A server killed
with SIGKILL right after answering keeps every event it acknowledged."""

from __future__ import annotations

import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
from pathlib import Path

import httpx

KEY_PATTERN = re.compile(r"\b(sk_[A-Za-z0-9_\-]{20,})")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_acknowledged_events_survive_sigkill(tmp_path: Path) -> None:
    port = _free_port()
    env = {**os.environ, "CHASM_DATA_DIR": str(tmp_path / "data"), "CHASM_EMBEDDED_WORKERS": "0"}
    env.pop("CHASM_DATABASE_URL", None)
    command = [sys.executable, "-m", "uvicorn", "chasm.app:create_app", "--factory", "--port", str(port)]
    server = subprocess.Popen(
        [*command, "--log-level", "warning"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert server.stdout is not None
    try:
        key = None
        while key is None:
            line = server.stdout.readline()
            assert line, "the server exited before printing its bootstrap key"
            found = KEY_PATTERN.search(line)
            key = found.group(1) if found else None
        acknowledged = []
        with httpx.Client(
            base_url=f"http://127.0.0.1:{port}", headers={"Authorization": f"Bearer {key}"}
        ) as c:
            for _ in range(600):
                try:
                    c.get("/api/health")
                    break
                except httpx.TransportError:
                    pass
            for n in range(20):
                r = c.post("/v1/keys", json={"name": f"k{n}"})
                assert r.status_code == 201
                acknowledged.append(r.json()["id"])
        server.send_signal(signal.SIGKILL)
        server.wait(10)
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
    with sqlite3.connect(tmp_path / "data" / "chasm.db") as db:
        rows = db.execute("SELECT resource_id FROM audit_events WHERE action = 'api_key.create'").fetchall()
    audited = {row[0] for row in rows}
    assert all(key_id in audited for key_id in acknowledged)
