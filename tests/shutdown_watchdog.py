"""A watchdog for app fixtures' teardown: a shutdown that hangs is reported on the terminal (not in
pytest's captured output, which a hung test never shows) with what every task waits on, then
cancelled, so the test fails and the run goes on."""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from fastapi import FastAPI

CONFIG: pytest.Config | None = None  # set by the root conftest's pytest_configure

REPORT_S = 45.0
LIMIT_S = 100.0  # under pytest-timeout's 120 s for the whole test


def tasks_report() -> str:
    out = io.StringIO()
    for task in asyncio.all_tasks():
        if not task.done() and task is not asyncio.current_task() and task.get_name() != "stop-watchdog":
            task.print_stack(limit=15, file=out)
    return out.getvalue()


def to_terminal(text: str) -> None:
    """Write past pytest's capture (as pytest-timeout does for its own report)."""
    if CONFIG is None:
        return
    capman = CONFIG.pluginmanager.getplugin("capturemanager")
    reporter = CONFIG.pluginmanager.getplugin("terminalreporter")
    if capman is None or reporter is None:
        return
    capman.suspend_global_capture(in_=True)
    try:
        reporter.write_line(text)
    finally:
        capman.resume_global_capture()


def stop_watchdog(seconds: float = REPORT_S) -> asyncio.Task[None]:
    """While an app stops: if it takes over `seconds`, say what its tasks wait on."""

    async def bark() -> None:
        await asyncio.sleep(seconds)
        to_terminal(f"\napp shutdown still running after {seconds}s; tasks:\n{tasks_report()}")

    return asyncio.create_task(bark(), name="stop-watchdog")


@asynccontextmanager
async def running(app: FastAPI) -> AsyncIterator[FastAPI]:
    """The app's lifespan; its shutdown is given LIMIT_S seconds, then cancelled and the test failed."""
    context = app.router.lifespan_context(app)
    await context.__aenter__()
    try:
        yield app
    finally:
        watchdog = stop_watchdog()
        try:
            async with asyncio.timeout(LIMIT_S):
                await context.__aexit__(None, None, None)
        except TimeoutError:
            report = tasks_report()
            to_terminal(f"\napp shutdown cancelled after {LIMIT_S}s; tasks left:\n{report}")
            pytest.fail(f"the app's shutdown hung for {LIMIT_S}s; tasks left:\n{report}")
        finally:
            watchdog.cancel()
