"""A few sandboxes started ahead of time for the plainest ephemeral sessions.

Starting a sandbox (namespaces, mounts, cgroups) is most of what creating a session costs. For
an ephemeral session with no image, no repository, no environment and no network, every new
sandbox would be the same, so the pool starts `sandbox_warm_pool` of them ahead, each with the
session id it will carry and an empty workspace of its own. A session takes one; the pool then
starts a replacement in the background once the creating request had REFILL_DELAY_S to finish
(a start at once would compete with that request for the CPU). A pooled sandbox serves
exactly one session and is never handed back: nothing of one session can reach another.
When none is ready but one is being started, the session waits for that one rather than starting
its own: back-to-back creates then overlap a sandbox start with the previous request.
Unclaimed ones are stopped at shutdown (and, after a crash, killed as strays by the driver's
`recover`). The pool fills on first use, so a server that never creates ephemeral sessions starts
nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from dataclasses import dataclass
from pathlib import Path

from chasm.config import Settings
from chasm.sandbox import ephemeral
from chasm.sandbox.drivers.base import SandboxDriver, SandboxInfo, SandboxSpec
from chasm.sandbox.limits import limits_for

log = logging.getLogger("chasm.sessions")
WORKSPACE_ROOT = "/workspace"
REFILL_DELAY_S = 0.005


@dataclass
class Warm:
    session_id: str
    workdir: Path
    info: SandboxInfo


def markers(session_id: str) -> dict[str, str]:
    """The environment every sandbox session gets (a workspace id is added by its session)."""
    return {"CHASM_SESSION_ID": session_id, "CHASM_WORKSPACE_ROOT": WORKSPACE_ROOT}


def _retrieve(future: asyncio.Future[Warm]) -> None:
    """Mark a failed start's exception as seen when no session waited for it."""
    if not future.cancelled():
        future.exception()


class WarmPool:
    def __init__(self, settings: Settings, driver: SandboxDriver) -> None:
        self.settings = settings
        self.driver = driver
        self.size = settings.sandbox_warm_pool
        # Limits of accounts without a plan override; sessions of other plans start their own.
        self.limits = limits_for(settings, None)
        self._ready: list[Warm] = []
        self._filler: asyncio.Task[None] | None = None
        self._closed = False
        self._starting: asyncio.Future[Warm] | None = None  # the start in progress
        self._claimed = False  # a session waits for it
        self._last_take = 0.0

    async def take(self) -> Warm | None:
        """A started sandbox for a new plain ephemeral session, or None (then start one)."""
        if self.size <= 0 or self._closed:
            return None
        self._last_take = asyncio.get_running_loop().time()
        if self._ready:
            warm = self._ready.pop()
            self._fill()
            return warm
        starting = self._starting
        if starting is None or self._claimed:
            self._fill()
            return None
        self._claimed = True
        try:
            return await asyncio.shield(starting)
        except Exception:
            return None  # that start failed: the caller starts its own
        finally:
            self._fill()

    def session_ids(self) -> set[str]:
        return {warm.session_id for warm in self._ready}

    def _fill(self) -> None:
        if self._filler is None or self._filler.done():
            self._filler = asyncio.create_task(self._run(), name="sandbox-warm-pool")

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while not self._closed and len(self._ready) < self.size:
            wait = self._last_take + REFILL_DELAY_S - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
                continue
            future: asyncio.Future[Warm] = loop.create_future()
            future.add_done_callback(_retrieve)
            self._starting, self._claimed = future, False
            try:
                warm = await self._start_one()
            except BaseException as exc:
                future.set_exception(exc if isinstance(exc, Exception) else RuntimeError("cancelled"))
                if not isinstance(exc, Exception):
                    raise
                log.warning("could not start a warm sandbox: %s", exc)
                return
            finally:
                self._starting = None
            claimed = self._claimed
            future.set_result(warm)
            if claimed:
                continue  # a session took it as it was starting
            if self._closed:
                await self._discard(warm)
                return
            self._ready.append(warm)

    async def _start_one(self) -> Warm:
        session_id = str(uuid.uuid4())
        workdir = ephemeral.create(self.settings, session_id, self.limits.memory_bytes)
        spec = SandboxSpec(
            session_id=session_id,
            workspace_dir=workdir,
            env=markers(session_id),
            limits=self.limits,
        )
        try:
            info = await self.driver.start(spec)
        except BaseException:
            with contextlib.suppress(Exception):
                await self.driver.stop(session_id)
            ephemeral.remove(self.settings, session_id)
            raise
        return Warm(session_id, workdir, info)

    async def _discard(self, warm: Warm) -> None:
        await self.driver.stop(warm.session_id)
        ephemeral.remove(self.settings, warm.session_id)

    async def close(self) -> None:
        """Stop filling and stop every unclaimed sandbox."""
        self._closed = True
        if self._filler is not None:
            self._filler.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._filler
        while self._ready:
            await self._discard(self._ready.pop())
