"""The dashboard end to end: this machine's Chromium against a real server with the real fixtures
harvested. One server and one browser page for the module; the tests run in order."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect
from webui_server import DashboardServer, screenshot

pytestmark = pytest.mark.browser

CUDA_CHAT = "Verify Cuda is working"  # a Claude Code fixture with tool calls
WIDE_TABLES = (("/ops/keys", "API keys"), ("/ops/audit", "Audit events"), ("/ops/orgs", "Accounts"))


def test_loopback_browser_is_signed_in_and_sees_the_library(page: Page, server: DashboardServer) -> None:
    page.goto(server.url + "/")

    expect(page).to_have_url(re.compile(r"/chats$"))
    chats = page.get_by_role("list", name="Chats")
    expect(chats.get_by_role("link", name=re.compile(CUDA_CHAT))).to_be_visible()
    expect(page.get_by_role("button", name="Sign out")).to_have_count(0)
    screenshot(page, "chat-library")


def test_harvest_button_reports_what_it_harvested(page: Page, server: DashboardServer) -> None:
    page.goto(server.url + "/chats")

    page.get_by_role("button", name="Harvest").click()

    expect(page.get_by_role("status").filter(has_text="Harvested")).to_contain_text("chats")


def test_the_library_shows_a_chat_made_elsewhere_without_a_reload(
    page: Page, server: DashboardServer
) -> None:
    page.goto(server.url + "/chats")
    expect(page.get_by_role("list", name="Chats").get_by_role("listitem").first).to_be_visible()

    made = server.admin.post(
        "/api/sessions",
        json={"title": "Made by another client", "messages": [{"role": "user", "content": "hi"}]},
    )
    assert made.status_code == 201, made.text

    expect(page.get_by_role("link", name="Made by another client")).to_be_visible()


def test_phone_width_and_dark_theme(browser: Any, server: DashboardServer) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 844})
    try:
        page = context.new_page()
        page.goto(server.url + "/chats")
        nav = page.get_by_role("navigation", name="Main")
        expect(nav).to_be_hidden()

        page.get_by_role("button", name="Menu").click()
        expect(nav.get_by_role("link", name="Sandboxes")).to_be_visible()
        page.get_by_role("button", name="Use dark theme").click()

        expect(page.locator("html")).to_have_attribute("data-theme", "dark")
        expect(page.get_by_role("button", name="Use light theme")).to_be_visible()
        screenshot(page, "chat-library-phone-dark")

        # Wide tables scroll in their own box: the page keeps the phone's width.
        for path, table in WIDE_TABLES:
            page.goto(server.url + path)
            expect(page.get_by_role("table", name=table).locator("tbody tr").first).to_be_visible()
            assert page.evaluate("document.documentElement.scrollWidth") <= 390, path
    finally:
        context.close()


def test_merge_two_selected_chats(page: Page, server: DashboardServer) -> None:
    page.goto(server.url + "/chats")
    chats = page.get_by_role("list", name="Chats")
    boxes = chats.get_by_role("checkbox")
    ids = [boxes.nth(i).get_attribute("value") for i in (0, 1)]
    boxes.nth(0).check()
    boxes.nth(1).check()

    page.get_by_role("group", name="Selected chats").get_by_role("button", name="Merge selected").click()

    expect(page).to_have_url(re.compile(r"/chats/[0-9a-f-]{36}$"))
    counts = [server.admin.get(f"/api/sessions/{i}").json()["data"]["message_count"] for i in ids]
    merged_id = page.url.rsplit("/", 1)[1]
    assert merged_id not in ids
    expect(page.get_by_text(f"{sum(counts)} messages", exact=False).first).to_be_visible()


def test_search_as_you_type_then_open_with_the_keyboard(page: Page, server: DashboardServer) -> None:
    page.goto(server.url + "/chats")
    page.keyboard.press("/")
    expect(page.get_by_label("Search chats")).to_be_focused()

    page.keyboard.type("cuda")

    chats = page.get_by_role("list", name="Chats")
    expect(chats.locator("mark").first).to_be_visible()
    expect(chats.get_by_role("listitem").first).to_contain_text(CUDA_CHAT)
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/chats/[0-9a-f-]{36}$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text(CUDA_CHAT)


def test_a_tool_call_is_collapsed_and_expands(page: Page) -> None:
    call = page.locator("details.tool").first
    expect(call).not_to_have_attribute("open", "")
    expect(call.get_by_text("Input")).to_be_hidden()

    call.locator("summary").click()

    expect(call.get_by_text("Input")).to_be_visible()
    expect(call.locator("pre").first).not_to_be_empty()
    screenshot(page, "chat-view")


def test_export_markdown_downloads_the_chat(page: Page) -> None:
    with page.expect_download() as info:
        page.get_by_role("group", name="Export").get_by_role("button", name="Markdown").click()

    download = info.value
    assert download.suggested_filename.endswith(".md")
    text = Path(download.path()).read_text()
    assert CUDA_CHAT in text


def test_rename_and_tag_a_chat(page: Page, server: DashboardServer) -> None:
    page.get_by_label("Title").fill("CUDA check, renamed")
    page.get_by_role("button", name="Rename").click()
    page.get_by_label("Tags").fill("gpu, laptop")
    page.get_by_role("button", name="Save tags").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("CUDA check, renamed")
    expect(page.get_by_role("status").filter(has_text="Tags saved")).to_be_visible()
    chat_id = page.url.rsplit("/", 1)[1]
    stored = server.admin.get(f"/api/sessions/{chat_id}").json()["data"]
    assert stored["title"] == "CUDA check, renamed" and stored["tags"] == ["gpu", "laptop"]


def test_an_open_chat_shows_a_message_added_elsewhere(page: Page, server: DashboardServer) -> None:
    chat_id = page.url.rsplit("/", 1)[1]

    added = server.admin.post(
        f"/api/sessions/{chat_id}/messages", json={"role": "user", "content": "Appended from another client"}
    )
    assert added.status_code == 201, added.text

    expect(page.get_by_role("region", name="Messages")).to_contain_text("Appended from another client")


def test_filter_the_library_by_tag_and_model(page: Page, server: DashboardServer) -> None:
    chat_id = page.url.rsplit("/", 1)[1]
    model = server.admin.get(f"/api/sessions/{chat_id}").json()["data"]["model"]
    assert model, "the CUDA fixture names its model"
    page.goto(server.url + "/chats")
    chats = page.get_by_role("list", name="Chats")
    expect(chats.get_by_role("listitem").nth(2)).to_be_visible()

    page.get_by_label("Tags").fill("gpu")
    page.get_by_label("Tags").press("Enter")

    expect(chats.get_by_role("listitem")).to_have_count(1)
    expect(chats.get_by_role("link", name="CUDA check, renamed")).to_be_visible()

    page.get_by_label("Tags").fill("gpu, nothing-has-this")
    page.get_by_label("Tags").press("Enter")
    expect(chats.get_by_role("listitem")).to_have_count(0)

    page.get_by_label("Tags").fill("")
    page.get_by_label("Tags").press("Enter")
    page.get_by_label("Model").select_option(model)
    same_model = server.admin.get("/api/sessions", params={"model": model, "archived": "false"}).json()
    expect(chats.get_by_role("listitem")).to_have_count(same_model["data"]["total"])
    expect(chats.get_by_role("link", name="CUDA check, renamed")).to_be_visible()


def test_a_long_chat_is_all_in_the_page_and_renders_where_scrolled(
    page: Page, server: DashboardServer
) -> None:
    messages = [
        {
            "role": "user" if i % 2 == 0 else "assistant",
            "content": f"Step {i} of the plan\n\n```python\ndef step_{i}(v):\n    return v + {i}\n```\n",
        }
        for i in range(130)  # more than three of the view's chunks
    ]
    made = server.admin.post("/api/sessions", json={"title": "A long plan", "messages": messages})
    assert made.status_code == 201, made.text

    page.goto(f"{server.url}/chats/{made.json()['data']['id']}")

    region = page.get_by_role("region", name="Messages")
    expect(region).to_contain_text("Step 129 of the plan")  # the last chunk fills in unscrolled
    expect(region.locator("article.msg")).to_have_count(130)
    last = page.get_by_role("article", name="assistant message 130", exact=True)
    last.scroll_into_view_if_needed()
    expect(last.locator("pre.code code.hljs")).to_contain_text("def step_129")  # Markdown, highlighted
    first = page.get_by_role("article", name="user message 1", exact=True)
    expect(first.locator("pre.code")).to_have_count(1)


def test_stats_page_charts_the_library(page: Page, server: DashboardServer) -> None:
    page.goto(server.url + "/chats/stats")

    expect(page.get_by_role("figure", name="Chats per provider")).to_contain_text("claude-code")
    expect(page.get_by_role("figure", name="Tokens per model")).to_be_visible()
    screenshot(page, "stats")


def test_create_and_revoke_an_api_key(page: Page, server: DashboardServer) -> None:
    page.goto(server.url + "/ops/keys")
    page.get_by_label("Key name").fill("ci reader")
    page.get_by_role("checkbox", name="chats.read").check()
    page.get_by_role("checkbox", name="sessions.read").check()

    page.get_by_role("button", name="Create key").click()

    secret = page.get_by_label("Secret", exact=True)
    expect(secret).to_have_text(re.compile(r"^sk_"))
    key = secret.inner_text().strip()
    keys = page.get_by_role("table", name="API keys")
    expect(keys.get_by_role("row", name=re.compile("ci reader"))).to_contain_text("chats.read, sessions.read")
    screenshot(page, "api-keys")
    assert server.admin.get("/api/sessions", headers={"Authorization": f"Bearer {key}"}).status_code == 200

    page.once("dialog", lambda dialog: dialog.accept())
    keys.get_by_role("button", name="Revoke ci reader").click()

    expect(keys.get_by_role("row", name=re.compile("ci reader"))).to_have_count(0)
    assert server.admin.get("/api/sessions", headers={"Authorization": f"Bearer {key}"}).status_code == 401


def test_ops_pages_render(page: Page, server: DashboardServer) -> None:
    for path, heading, name in [
        ("/ops/jobs", "Jobs", "jobs"),
        ("/ops/audit", "Audit log", "audit-log"),
        ("/workspaces", "Workspaces", "workspaces"),
        ("/ops/orgs", "Organisations", "organisations"),
    ]:
        page.goto(server.url + path)
        expect(page.get_by_role("heading", name=heading, exact=True)).to_be_visible()
        screenshot(page, name)
    page.goto(server.url + "/ops/audit")
    expect(page.get_by_role("table", name="Audit events")).to_contain_text("key")


def test_a_proxied_browser_signs_in_with_an_api_key(browser: Any, server: DashboardServer) -> None:
    # Behind a reverse proxy the loopback sign-in is closed: the key is pasted once.
    context = browser.new_context(extra_http_headers={"X-Forwarded-For": "203.0.113.9"})
    try:
        page = context.new_page()
        page.goto(server.url + "/chats")
        page.get_by_role("textbox", name="API key").fill(server.key)
        page.get_by_role("button", name="Use this key").click()

        expect(page.get_by_role("list", name="Chats").get_by_role("listitem").first).to_be_visible()
        page.reload()
        expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    finally:
        context.close()


@pytest.mark.sandbox
def test_sandbox_terminal_files_and_terminate(page: Page, server: DashboardServer, tmp_path: Path) -> None:
    page.goto(server.url + "/sandboxes")
    page.get_by_role("button", name="Create sandbox").click()
    expect(page).to_have_url(re.compile(r"/sandboxes/[0-9a-f-]{36}$"), timeout=60_000)
    expect(page.get_by_role("status").filter(has_text="Terminal")).to_have_text("Terminal open")

    terminal = page.get_by_role("region", name="Terminal")
    terminal.click()
    page.keyboard.type("echo hello\n")

    expect(terminal.locator(".xterm-rows > div").filter(has_text=re.compile(r"^hello\s*$"))).to_have_count(1)
    screenshot(page, "sandbox-terminal")

    page.get_by_role("tab", name="Files").click()
    upload = tmp_path / "notes.txt"
    upload.write_text("dashboard upload\n")
    page.get_by_label("Files to upload").set_input_files(str(upload))
    page.get_by_role("button", name="Upload", exact=True).click()
    files = page.get_by_role("table", name="Files")
    expect(files.get_by_role("row", name=re.compile("notes.txt"))).to_be_visible()
    with page.expect_download() as info:
        files.get_by_role("button", name="Download notes.txt").click()
    assert Path(info.value.path()).read_text() == "dashboard upload\n"
    files.get_by_role("button", name="View notes.txt").click()
    expect(page.get_by_role("region", name="File viewer")).to_contain_text("dashboard upload")
    screenshot(page, "sandbox-files")

    page.get_by_role("tab", name="Commands").click()
    page.get_by_role("textbox", name="Background command").fill("for i in 1 2 3; do echo line$i; done")
    page.get_by_role("button", name="Run in background").click()
    output = page.get_by_role("region", name="Command output")
    expect(output).to_contain_text("line3")
    expect(output.get_by_role("status")).to_contain_text("exited with code 0")

    page.get_by_role("button", name="Terminate").click()
    expect(page.get_by_text("This sandbox has ended")).to_be_visible()
    page.goto(server.url + "/sandboxes")
    screenshot(page, "sandboxes")


@pytest.mark.sandbox
def test_sandbox_pages_follow_sessions_made_and_ended_elsewhere(page: Page, server: DashboardServer) -> None:
    page.goto(server.url + "/sandboxes")
    page.get_by_label("Show ended sandboxes").check()
    table = page.get_by_role("table", name="Sandboxes")
    expect(table).to_be_visible()

    made = server.admin.post("/v1/sessions", json={"ephemeral": True})
    assert made.status_code == 201, made.text
    sid = made.json()["id"]
    row = table.get_by_role("row", name=re.compile(sid[:8]))
    expect(row).to_contain_text("running")

    assert server.admin.delete(f"/v1/sessions/{sid}").status_code == 200
    expect(row).to_contain_text("terminated")

    again = server.admin.post("/v1/sessions", json={"ephemeral": True}).json()["id"]
    table.get_by_role("link", name=again[:8]).click()
    expect(page.get_by_role("button", name="Terminate")).to_be_visible()
    # The open page may hold the sandbox's terminal (a connection lease): end it as a user elsewhere would.
    assert server.admin.delete(f"/v1/sessions/{again}", params={"force": "true"}).status_code == 200
    expect(page.get_by_text("This sandbox has ended (requested)")).to_be_visible()
    expect(page.get_by_role("button", name="Terminate")).to_have_count(0)


def test_workspaces_page_follows_changes_made_elsewhere(page: Page, server: DashboardServer) -> None:
    page.goto(server.url + "/workspaces")
    table = page.get_by_role("table", name="Workspaces")
    expect(table).to_be_visible()

    made = server.admin.post("/v1/workspaces", json={"name": "made-elsewhere"})
    assert made.status_code == 201, made.text
    ws = made.json()["id"]
    expect(table.get_by_role("row", name=re.compile("made-elsewhere"))).to_be_visible()

    server.admin.put(f"/v1/workspaces/{ws}/name", json={"name": "renamed-elsewhere"}).raise_for_status()
    expect(table.get_by_role("row", name=re.compile("renamed-elsewhere"))).to_be_visible()

    page.get_by_role("button", name="Snapshots of renamed-elsewhere").click()
    server.admin.post(f"/v1/workspaces/{ws}/snapshots", json={"name": "snap-elsewhere"}).raise_for_status()
    expect(page.get_by_role("button", name="Restore snap-elsewhere")).to_be_visible()
    screenshot(page, "workspaces")

    assert server.admin.delete(f"/v1/workspaces/{ws}").status_code in (200, 204)
    expect(table.get_by_role("row", name=re.compile("renamed-elsewhere"))).to_have_count(0)
