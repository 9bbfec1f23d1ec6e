"""A watchdog for app fixtures' teardown."""

from __future__ import annotations

import asyncio
import io
import sys


def stop_watchdog(seconds: float = 45.0) -> asyncio.Task[None]:
    """While an app stops: if it takes over `seconds`, print what its tasks wait on (a hung
    shutdown otherwise shows only pytest-timeout's idle event loop)."""

    async def bark() -> None:
        await asyncio.sleep(seconds)
        out = io.StringIO()
        for task in asyncio.all_tasks():
            if not task.done() and task is not asyncio.current_task():
                task.print_stack(limit=15, file=out)
        print(f"app shutdown still running after {seconds}s; tasks:\n{out.getvalue()}", file=sys.stderr)

    return asyncio.create_task(bark(), name="stop-watchdog")
