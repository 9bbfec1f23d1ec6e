from __future__ import annotations

from collections.abc import Iterator

import pytest
from webui_server import BROWSER_ARGS, CHROMIUM, DashboardServer

from chasm.webui.spa import built


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    if built():
        return
    skip = pytest.mark.skip(
        reason="the dashboard is not built: run ./scripts/bootstrap.sh (needs Node.js and npm)"
    )
    for item in items:
        if "browser" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DashboardServer]:
    srv = DashboardServer(tmp_path_factory.mktemp("dashboard"))
    srv.start()
    try:
        srv.harvest_fixtures()
        yield srv
    finally:
        srv.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=BROWSER_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture(scope="module")
def page(browser: object, server: DashboardServer) -> Iterator[object]:
    """One page of this machine's browser: signed in by the loopback server itself."""
    context = browser.new_context(viewport={"width": 1280, "height": 800}, accept_downloads=True)  # type: ignore[attr-defined]
    context.set_default_timeout(15_000)
    pg = context.new_page()
    yield pg
    context.close()
