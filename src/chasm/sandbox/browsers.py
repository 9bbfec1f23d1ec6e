"""Browser sessions: a headless Chromium as the one program of a sandbox.

A browser session is a sandbox (same driver, namespaces, cgroups, seccomp filter and network
modes) whose only program is Chromium, started by the sandbox's agent like any command. Its
DevTools server listens on 127.0.0.1:`CDP_PORT` in the sandbox's own network namespace; the host
reaches it through `driver.open_port` like any forwarded port. Chromium's own sandbox is off
(`--no-sandbox`): it needs user namespaces, which our seccomp filter denies; ours confines it.

The profile (`PROFILE_DIR`) lies in /workspace: a workspace-backed session keeps cookies,
localStorage and logins on its disk; an ephemeral one keeps it in its tmpfs, gone with it. A
stale `Singleton*` lock left by a killed Chromium is removed before the next start, and a
workspace-backed browser is closed through CDP (`Browser.close`) before its sandbox is killed so
that Chromium writes its cookies out and drops its lock.

`BrowserRegistry` knows the Chromium of each browser session this process started; when one
exits unasked, `on_exit` (set by the sessions lifespan) ends its session.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import shlex
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from chasm.config import Settings
from chasm.sandbox.cdp import CDP_PORT, CdpConnection, CdpError, http_json
from chasm.sandbox.drivers.base import Limits, NetworkSpec, SandboxDriver, SandboxError, SandboxProcess
from chasm.sandbox.pool import Warm, WarmPool

PROFILE_DIR = "/workspace/.chromium-profile"
LISTENING = re.compile(rb"DevTools listening on ws://[^/\s]+(/devtools/browser/[0-9a-f-]+)")
FLAGS = (
    "--headless",
    # No first tab: creating one keeps DevTools from answering for 150-350 ms more. A client
    # opens its pages (PUT /json/new, Target.createTarget); browser tools open one when needed.
    "--no-startup-window",
    "--no-sandbox",  # ours confines it: its own needs user namespaces, which seccomp denies
    "--disable-gpu",
    "--disable-dev-shm-usage",  # /dev/shm is a small tmpfs in the sandbox; /tmp is bigger
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-breakpad",
    "--disable-crash-reporter",
    "--password-store=basic",
    "--use-mock-keychain",
    "--remote-debugging-address=127.0.0.1",
    f"--remote-debugging-port={CDP_PORT}",
)
GRACEFUL_CLOSE_S = 3.0
log = logging.getLogger("chasm.sessions")


class BrowserStartFailed(SandboxError):
    code = "browser_start_failed"


def browser_limits(settings: Settings) -> Limits:
    """Chromium needs more memory and many more threads (counted as pids) than a shell."""
    return Limits(
        memory_bytes=settings.browser_memory_bytes,
        pids=settings.browser_pids,
        cpu_quota=settings.sandbox_cpu_quota,
        nofile=max(settings.sandbox_nofile, 8192),
    )


def command(settings: Settings, network: NetworkSpec) -> str:
    flags = list(FLAGS)
    if network.mode == "proxy":
        # The sandbox's relay to the proxy; Chromium ignores HTTP(S)_PROXY in headless mode.
        flags.append(f"--proxy-server=http://127.0.0.1:{settings.sandbox_proxy_port}")
    flags.append(f"--user-data-dir={PROFILE_DIR}")
    profile = shlex.quote(PROFILE_DIR)
    return (
        f"mkdir -p {profile} && rm -f {profile}/SingletonLock {profile}/SingletonSocket "
        f"{profile}/SingletonCookie; exec {shlex.quote(settings.browser_executable)} "
        + " ".join(shlex.quote(flag) for flag in flags)
        + " </dev/null"
    )


@dataclass
class Browser:
    session_id: str
    process: SandboxProcess
    browser_path: str  # /devtools/browser/<id>
    log_tail: bytearray = field(default_factory=bytearray)
    exit_code: int | None = None
    closing: bool = False
    watcher: asyncio.Task[None] | None = None

    @property
    def running(self) -> bool:
        return self.exit_code is None


class BrowserRegistry:
    def __init__(self, settings: Settings, driver: SandboxDriver) -> None:
        self.settings = settings
        self.driver = driver
        self._browsers: dict[str, Browser] = {}
        # Ends the session of a browser that exited unasked (set by the sessions lifespan).
        self.on_exit: Callable[[str, int], Awaitable[None]] | None = None

    def get(self, session_id: str) -> Browser | None:
        return self._browsers.get(session_id)

    def exited(self, session_id: str) -> bool:
        browser = self._browsers.get(session_id)
        return browser is not None and not browser.running

    async def launch(self, session_id: str, network: NetworkSpec) -> Browser:
        """Start Chromium in the (running) sandbox `session_id`; return once DevTools answers."""
        process = await self.driver.spawn(session_id, command(self.settings, network))
        browser = Browser(session_id, process, "")
        listening: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        browser.watcher = asyncio.create_task(self._watch(browser, listening), name=f"browser-{session_id}")
        try:
            browser.browser_path = await asyncio.wait_for(
                asyncio.shield(listening), self.settings.browser_start_timeout_s
            )
        except (TimeoutError, BrowserStartFailed) as exc:
            await self._kill(browser)
            tail = browser.log_tail.decode(errors="replace").strip()[-500:]
            raise BrowserStartFailed(f"Chromium did not start: {tail or exc or 'timed out'}") from exc
        except BaseException:
            await self._kill(browser)
            raise
        self._browsers[session_id] = browser
        return browser

    async def _watch(self, browser: Browser, listening: asyncio.Future[str]) -> None:
        """Drain Chromium's output (keeping a tail), report its DevTools path, wait for its end."""
        seen = bytearray()
        async for chunk in browser.process.output():
            if not listening.done():
                seen.extend(chunk.data)
                found = LISTENING.search(seen)
                if found:
                    listening.set_result(found.group(1).decode())
                    seen.clear()
            browser.log_tail.extend(chunk.data)
            del browser.log_tail[:-4096]
        browser.exit_code = await browser.process.wait()
        if not listening.done():
            listening.set_exception(BrowserStartFailed(f"Chromium exited ({browser.exit_code})"))
            return
        if browser.closing or self._browsers.get(browser.session_id) is not browser:
            return
        log.warning("Chromium of session %s exited (%s)", browser.session_id, browser.exit_code)
        if self.on_exit is not None:
            try:
                await self.on_exit(browser.session_id, browser.exit_code)
            except Exception:
                log.exception("could not end the session of exited browser %s", browser.session_id)

    async def _kill(self, browser: Browser) -> None:
        browser.closing = True
        with contextlib.suppress(Exception):
            await browser.process.signal(9)
        if browser.watcher is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(asyncio.shield(browser.watcher), 1.0)

    async def close(self, session_id: str, *, graceful: bool) -> None:
        """Before the sandbox is stopped: with `graceful`, ask Chromium to close (it writes its
        profile out and frees its lock); then forget it. Killing is the sandbox stop's job."""
        browser = self._browsers.pop(session_id, None)
        if browser is None:
            return
        browser.closing = True
        if graceful and browser.running:
            try:
                async with asyncio.timeout(GRACEFUL_CLOSE_S):
                    conn = await CdpConnection.open(self.driver, session_id, browser.browser_path)
                    with contextlib.suppress(CdpError):
                        await conn.call("Browser.close")
                    await conn.close()
                    if browser.watcher is not None:
                        await asyncio.shield(browser.watcher)
            except (TimeoutError, CdpError, SandboxError, OSError) as exc:
                log.warning("Chromium of session %s did not close cleanly: %s", session_id, exc)
        current = asyncio.current_task()
        if browser.watcher is not None and not browser.watcher.done() and browser.watcher is not current:
            browser.watcher.cancel()

    async def version(self, session_id: str) -> dict[str, object]:
        """`/json/version` of the session's browser (it answers: it is up)."""
        answer: dict[str, object] = await http_json(self.driver, session_id, "/json/version")
        return answer

    async def close_all(self) -> None:
        for session_id in list(self._browsers):
            await self.close(session_id, graceful=False)


class BrowserPool(WarmPool):
    """Browsers started ahead for plain ephemeral browser sessions (`browser_warm_pool`): a
    sandbox with Chromium already answering. Like sandboxes, each serves one session only."""

    def __init__(self, settings: Settings, driver: SandboxDriver, registry: BrowserRegistry) -> None:
        super().__init__(settings, driver)
        self.size = settings.browser_warm_pool
        self.limits = browser_limits(settings)
        self.registry = registry

    async def _start_one(self) -> Warm:
        warm = await super()._start_one()
        try:
            await self.registry.launch(warm.session_id, NetworkSpec())
        except BaseException:
            await super()._discard(warm)
            raise
        return warm

    async def _discard(self, warm: Warm) -> None:
        await self.registry.close(warm.session_id, graceful=False)
        await super()._discard(warm)
