"""Browser sessions on real Chromium: the DevTools Protocol through the gateway (Playwright and a
plain WebSocket client), profiles, and a Chromium that dies."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from browser.helpers import RawCdp, create_browser
from sessions.fixtures import LiveServer, create_session, make_workspace

pytestmark = pytest.mark.sandbox


async def test_playwright_connects_over_cdp_through_the_gateway(
    admin: httpx.AsyncClient, admin_key: str, live: LiveServer
) -> None:
    from playwright.async_api import async_playwright

    session = await create_browser(admin)
    assert session["endpoints"]["cdp_url"].endswith(f"/s/{session['id']}/")
    assert session["endpoints"]["exec_url"] is None and session["endpoints"]["pty_url"] is None  # no shell
    async with async_playwright() as pw:
        browser = await pw.chromium.connect_over_cdp(
            f"{live.url}/s/{session['id']}/", headers={"Authorization": f"Bearer {admin_key}"}
        )
        context = browser.contexts[0]
        page = await context.new_page()
        await page.goto("data:text/html,<title>hello</title><h1 id=h>Hello, Chasm</h1>")
        assert await page.title() == "hello"
        assert await page.inner_text("#h") == "Hello, Chasm"
        await browser.close()
    await admin.delete(f"/v1/sessions/{session['id']}", params={"force": "true"})


async def test_raw_cdp_client_lists_targets_and_evaluates(admin: httpx.AsyncClient, live: LiveServer) -> None:
    session = await create_browser(admin)
    sid, token = session["id"], session["access_token"]
    headers = {"X-Chasm-Session-Token": token}
    async with httpx.AsyncClient(base_url=live.url, headers=headers) as http:
        version = (await http.get(f"/s/{sid}/json/version")).json()
        assert version["Browser"].startswith("Chrome/")
        assert version["webSocketDebuggerUrl"].startswith(f"{live.ws_url}/s/{sid}/devtools/browser/")
        new = await http.put(f"/s/{sid}/json/new?about:blank")
        assert new.status_code == 200, new.text
        assert new.json()["webSocketDebuggerUrl"].startswith(f"{live.ws_url}/s/{sid}/devtools/page/")
        targets = (await http.get(f"/s/{sid}/json/list")).json()
        pages = [t for t in targets if t["type"] == "page"]
        assert pages and all(
            t["webSocketDebuggerUrl"].startswith(f"{live.ws_url}/s/{sid}/devtools/") for t in targets
        )
        assert f"ws=127.0.0.1:{live.port}/s/{sid}/devtools/page/" in pages[0]["devtoolsFrontendUrl"]
        denied = await httpx.AsyncClient(base_url=live.url).get(f"/s/{sid}/json/version")
        assert denied.status_code == 401 and denied.json()["error"]["code"]
        injected = await http.get(f"/s/{sid}/json/version%20HTTP/1.0")  # no second request line
        assert injected.status_code == 400 and injected.json()["error"]["code"] == "invalid_path"
    cdp = await RawCdp.connect(pages[0]["webSocketDebuggerUrl"], headers)
    try:
        result = await cdp.call("Runtime.evaluate", {"expression": "1+1"})
        assert result["result"]["value"] == 2
    finally:
        await cdp.close()
    browser = await RawCdp.connect(version["webSocketDebuggerUrl"], headers)
    try:
        assert (await browser.call("Browser.getVersion"))["product"].startswith("Chrome/")
    finally:
        await browser.close()
    await admin.delete(f"/v1/sessions/{sid}", params={"force": "true"})


async def _cookies(live: LiveServer, session: dict[str, Any]) -> list[dict[str, Any]]:
    headers = {"X-Chasm-Session-Token": session["access_token"]}
    async with httpx.AsyncClient(base_url=live.url, headers=headers) as http:
        version = (await http.get(f"/s/{session['id']}/json/version")).json()
    cdp = await RawCdp.connect(version["webSocketDebuggerUrl"], headers)
    try:
        found = await cdp.call("Storage.getCookies")
        cookies: list[dict[str, Any]] = found["cookies"]
        return cookies
    finally:
        await cdp.close()


async def _set_cookie(live: LiveServer, session: dict[str, Any]) -> None:
    headers = {"X-Chasm-Session-Token": session["access_token"]}
    async with httpx.AsyncClient(base_url=live.url, headers=headers) as http:
        version = (await http.get(f"/s/{session['id']}/json/version")).json()
    cdp = await RawCdp.connect(version["webSocketDebuggerUrl"], headers)
    try:
        cookie = {
            "name": "login",
            "value": "kept",
            "domain": "example.com",
            "path": "/",
            "secure": True,
            "expires": time.time() + 3600,
        }
        await cdp.call("Storage.setCookies", {"cookies": [cookie]})
    finally:
        await cdp.close()


async def test_workspace_profile_persists_and_ephemeral_leaves_nothing(
    app: FastAPI, admin: httpx.AsyncClient, live: LiveServer
) -> None:
    ws = await make_workspace(app, "web", session_type="browser")
    first = await create_browser(admin, workspace="web")
    again = await create_browser(admin, workspace="web")
    assert again["id"] == first["id"] and again["access_token"] is None  # the live one is reused
    await _set_cookie(live, first)
    assert (await admin.delete(f"/v1/sessions/{first['id']}", params={"force": "true"})).status_code == 200
    # Chromium was closed, not killed: it wrote its cookies out and freed its profile lock.
    profile = await app.state.sandbox.storage.mount(ws["id"]) / ".chromium-profile"
    assert (profile / "Default" / "Cookies").is_file()
    assert not [p.name for p in profile.iterdir() if p.name.startswith("Singleton")]
    second = await create_browser(admin, workspace="web")
    assert second["id"] != first["id"] and second["workspace_id"] == ws["id"]
    assert [c["value"] for c in await _cookies(live, second) if c["name"] == "login"] == ["kept"]
    await admin.delete(f"/v1/sessions/{second['id']}", params={"force": "true"})

    ephemeral = await create_browser(admin)
    await _set_cookie(live, ephemeral)
    await admin.delete(f"/v1/sessions/{ephemeral['id']}", params={"force": "true"})
    assert not (app.state.settings.data_dir / "sandboxes" / "ephemeral" / ephemeral["id"]).exists()
    fresh = await create_browser(admin)
    assert not [c for c in await _cookies(live, fresh) if c["name"] == "login"]
    await admin.delete(f"/v1/sessions/{fresh['id']}", params={"force": "true"})


def _chromium_pids(session_id: str, app: FastAPI) -> list[int]:
    """Host pids of the session's Chromium processes (found by their cgroup)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cgroup") as f:
                cgroup = f.read()
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                cmdline = f.read()
        except OSError:
            continue
        if session_id in cgroup and b"chromium" in cmdline and b"--type=" not in cmdline:
            found.append(int(entry))
    return found


async def test_chromium_killed_from_outside_ends_the_session(app: FastAPI, admin: httpx.AsyncClient) -> None:
    session = await create_browser(admin)
    sid = session["id"]
    pids = _chromium_pids(sid, app)
    assert pids
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):  # gone already with the one killed before
            os.kill(pid, signal.SIGKILL)
    for _ in range(100):
        data = (await admin.get(f"/v1/sessions/{sid}")).json()
        if data["status"] == "terminated":
            break
        await asyncio.sleep(0.05)
    assert data["status"] == "terminated" and data["ended_reason"] == "browser_exited"
    assert not _chromium_pids(sid, app)


async def test_kinds_are_kept_apart(admin: httpx.AsyncClient, live: LiveServer, admin_key: str) -> None:
    refused = await admin.post(
        "/v1/sessions", json={"session_type": "browser", "ephemeral": True, "image": "x"}
    )
    assert refused.status_code == 400 and "image" in refused.json()["error"]["message"]
    sandbox = await create_session(admin)
    headers = {"Authorization": f"Bearer {admin_key}"}
    async with httpx.AsyncClient(base_url=live.url, headers=headers) as http:
        answer = await http.get(f"/s/{sandbox['id']}/json/version")
    assert answer.status_code == 400 and answer.json()["error"]["code"] == "not_a_browser_session"
    browser = await create_browser(admin)
    ran = await admin.post(f"/v1/sessions/{browser['id']}/exec", json={"command": "id"})
    assert ran.status_code == 400 and ran.json()["error"]["code"] == "wrong_session_type"
    shot = await admin.get(f"/v1/sessions/{sandbox['id']}/screenshot")
    assert shot.status_code == 400 and shot.json()["error"]["code"] == "wrong_session_type"
    unknown = await admin.get("/v1/sessions/00000000-0000-4000-8000-000000000000/screenshot")
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "session_not_found"
    png = await admin.get(f"/v1/sessions/{browser['id']}/screenshot")
    assert png.status_code == 200 and png.headers["content-type"] == "image/png"
    for session in (sandbox, browser):
        await admin.delete(f"/v1/sessions/{session['id']}", params={"force": "true"})
