"""The warm browser pool, the subdomain form of the DevTools URLs, idle browsers ending, and the
`chasm browser` CLI."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from typer.testing import CliRunner

from browser.helpers import RawCdp, create_browser
from chasm.cli.main import app as cli
from chasm.config import Settings
from chasm.sessions.lifecycle import reap_once
from sessions.fixtures import LiveServer

pytestmark = pytest.mark.sandbox


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"browser_warm_pool": 1, "base_domain": "browsers.test"})


async def test_warm_browsers_serve_one_session_each(app: FastAPI, admin: httpx.AsyncClient) -> None:
    runtime = app.state.sandbox
    first = await create_browser(admin)  # fills the pool
    for _ in range(400):
        if runtime.browser_pool.session_ids():
            break
        await asyncio.sleep(0.05)
    warm_id = next(iter(runtime.browser_pool.session_ids()))
    second = await create_browser(admin)
    assert second["id"] == warm_id and second["status"] == "running"
    assert runtime.browsers.get(warm_id) is not None
    for session in (first, second):
        await admin.delete(f"/v1/sessions/{session['id']}", params={"force": "true"})
    assert runtime.browsers.get(warm_id) is None
    assert not _session_processes(warm_id)


def _session_processes(session_id: str) -> list[str]:
    found = []
    for pid in os.listdir("/proc"):
        try:
            if pid.isdigit() and session_id in Path(f"/proc/{pid}/cgroup").read_text():
                found.append(pid)
        except OSError:
            continue
    return found


async def test_subdomain_form_and_idle_end(app: FastAPI, admin: httpx.AsyncClient, live: LiveServer) -> None:
    session = await create_browser(admin)
    sid = session["id"]
    headers = {"X-Chasm-Session-Token": session["access_token"], "Host": f"{sid}.browsers.test:{live.port}"}
    async with httpx.AsyncClient(base_url=live.url, headers=headers) as http:
        version = (await http.get("/json/version")).json()
        assert (await http.put("/json/new?about:blank")).status_code == 200  # a browser starts with none
        targets = (await http.get("/json/list")).json()
    assert version["webSocketDebuggerUrl"].startswith(
        f"ws://{sid}.browsers.test:{live.port}/devtools/browser/"
    )
    page = next(t for t in targets if t["type"] == "page")
    assert f"ws={sid}.browsers.test:{live.port}/devtools/page/" in page["devtoolsFrontendUrl"]
    # The subdomain socket, reached on 127.0.0.1 with the subdomain's Host.
    cdp = await RawCdp.connect(
        page["webSocketDebuggerUrl"].replace(f"{sid}.browsers.test", "127.0.0.1"), headers
    )
    assert (await cdp.call("Runtime.evaluate", {"expression": "6*7"}))["result"]["value"] == 42
    await cdp.close()

    runtime = app.state.sandbox
    runtime.settings = runtime.settings.model_copy(update={"session_idle_timeout_s": -1})
    ended = await reap_once(runtime, app.state.sessionmaker)
    assert sid in ended
    data = (await admin.get(f"/v1/sessions/{sid}")).json()
    assert data["status"] == "terminated" and data["ended_reason"] == "idle_timeout"


async def test_cli_create_list_screenshot_terminate(admin_key: str, live: LiveServer, tmp_path: Path) -> None:
    runner = CliRunner()
    env = {"CHASM_URL": live.url, "CHASM_API_KEY": admin_key}

    def run(*args: str) -> str:
        result = runner.invoke(cli, ["browser", *args], env=env)
        assert result.exit_code == 0, result.output
        return result.stdout

    sid = (await asyncio.to_thread(run, "create")).strip().splitlines()[0]
    assert sid in await asyncio.to_thread(run, "list")
    out = tmp_path / "page.png"
    await asyncio.to_thread(run, "screenshot", sid[:8], str(out))  # a unique prefix is enough
    assert out.read_bytes().startswith(b"\x89PNG")
    assert "terminated" in await asyncio.to_thread(run, "terminate", sid, "--force")
