"""The sign-in page's OAuth buttons, end to end: this machine's Chromium, a real server configured
with GitHub only, and the fake authorization server of the auth tests (127.0.0.1)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect
from webui_server import DashboardServer, screenshot

from auth.fake_oauth import FakeProvider

pytestmark = pytest.mark.browser
PROXIED = {"X-Forwarded-For": "203.0.113.9"}  # behind a proxy: no loopback sign-in, the page asks


@pytest.fixture(scope="module")
def github() -> Iterator[FakeProvider]:
    provider = FakeProvider(
        "github-client",
        "github-secret",
        github_style=True,
        userinfo={"id": 777, "login": "octo", "name": "Octo Cat", "email": None},
        emails=[{"email": "octo@example.com", "primary": True, "verified": True}],
    ).start()
    yield provider
    provider.stop()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, github: FakeProvider) -> Iterator[DashboardServer]:
    srv = DashboardServer(
        tmp_path_factory.mktemp("oauth"),
        github_client_id=github.client_id,
        github_client_secret=github.client_secret,
        github_authorize_url=f"{github.base}/authorize",
        github_token_url=f"{github.base}/token",
        github_api_url=github.base,
    )
    srv.start()
    try:
        yield srv
    finally:
        srv.stop()


def test_sign_in_with_github_comes_back_signed_in(browser: Any, server: DashboardServer) -> None:
    context = browser.new_context(extra_http_headers=PROXIED)
    try:
        page = context.new_page()
        page.goto(server.url + "/chats/stats")
        sign_in = page.get_by_role("navigation", name="Sign in with")
        expect(sign_in.get_by_role("link", name="Sign in with GitHub")).to_be_visible()
        expect(sign_in.get_by_role("link", name="Sign in with Google")).to_have_count(0)  # not configured
        screenshot(page, "sign-in")

        sign_in.get_by_role("link", name="Sign in with GitHub").click()

        expect(page).to_have_url(re.compile(r"/chats/stats$"))  # back where it started, no token in sight
        expect(page.get_by_role("button", name="Sign out")).to_be_visible()
        expect(page.get_by_role("heading", level=1)).to_be_visible()
        assert "oauth" not in page.url
        # the page holds a working session of the new user
        token = page.evaluate("localStorage.getItem('chasm.token')")
        me = server.admin.get("/auth/me", headers={"Authorization": f"Bearer {token}"}).json()
        assert me["user"]["email"] == "octo@example.com"
        page.reload()
        expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    finally:
        context.close()


def test_a_refused_sign_in_is_explained(browser: Any, server: DashboardServer) -> None:
    context = browser.new_context(extra_http_headers=PROXIED)
    try:
        page = context.new_page()
        # GitHub sends the browser back without a code (here with a state it never had)
        page.goto(server.url + "/auth/github/callback?error=access_denied&state=unknown.dashboard")

        expect(page.get_by_role("alert")).to_contain_text("Sign-in failed")
        expect(page.get_by_role("link", name="Sign in with GitHub")).to_be_visible()
    finally:
        context.close()
