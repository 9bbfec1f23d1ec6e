"""Parsing in the harvest: the one guard every source's `parse` runs under, and the two ways units
are parsed while earlier ones are stored (a parse-ahead thread, or a process pool for large batches).

Sources are plain parsers: the guard pauses the cyclic garbage collector and turns an exception
into a parse issue of the unit, so no source needs to do either itself.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import threading
from collections import deque
from collections.abc import AsyncGenerator
from concurrent.futures import ProcessPoolExecutor

from chasm.harvest.model import ParseIssue, ParseOutcome, Resume, SourceUnit
from chasm.harvest.spec import HarvestSource
from chasm.harvest.units import Job
from chasm.kit.gcpause import gc_pause, pause_gc, resume_gc

log = logging.getLogger("chasm.harvest")

PROCESS_POOL_MIN_BYTES = 32 * 1024 * 1024  # below this, spawning parser processes costs more than it saves
IN_FLIGHT_PER_WORKER = 4
THREAD_READ_AHEAD_BYTES = 8 * 1024 * 1024  # source bytes a parser thread may parse ahead of the store
BATCH_BYTES = 8 * 1024 * 1024  # source bytes stored per transaction (keeps write transactions short)
BATCH_UNITS = 200

# (job, outcome, failed): `failed` when the source raised; the outcome then holds only that issue.
Parsed = tuple[Job, ParseOutcome, bool]


def guarded_parse(
    source: HarvestSource, unit: SourceUnit, resume: Resume | None = None
) -> tuple[ParseOutcome, bool]:
    """`source.parse` with the collector paused; a source that raises (a bug met on odd input) gives
    an outcome with that one issue and True: the engine then stores nothing of the unit, which keeps
    what it stored before and is parsed again next time."""
    pause_gc()  # as `gc_pause`, without a generator per unit (many units are small)
    try:
        return source.parse(unit, resume), False
    except Exception as exc:  # noqa: BLE001 - a source's bug must not stop the harvest
        log.warning("harvest parse of %s failed", unit.key, exc_info=True)
        path = str(unit.paths[0]) if unit.paths else unit.key
        return ParseOutcome([], [ParseIssue(path, f"could not be parsed: {type(exc).__name__}: {exc}")]), True
    finally:
        resume_gc()


class ParseAhead:
    """Parses jobs in order in its own thread, at most `budget` source bytes ahead of `take`."""

    def __init__(self, source: HarvestSource, jobs: list[Job], budget: int) -> None:
        self._source = source
        self._jobs = jobs
        self._budget = budget
        self._cond = threading.Condition()
        self._ready: deque[Parsed] = deque()
        self._ahead = 0  # bytes parsed and not taken yet
        self._finished = False
        self._stopped = False
        self._thread = threading.Thread(target=self._run, name="chasm-harvest-parse", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        # The collector stays paused from the first parse to the last, not only during each: resumed
        # in between, it would scan every message parsed ahead and not stored yet, again and again
        # (about 6% of a cold harvest's CPU time). Parsed chats hold no reference cycles.
        try:
            with gc_pause():
                for job in self._jobs:
                    with self._cond:
                        while self._ahead >= self._budget and not self._stopped:
                            self._cond.wait()
                        if self._stopped:
                            return
                    outcome, failed = guarded_parse(self._source, job.unit, job.resume)
                    with self._cond:
                        self._ready.append((job, outcome, failed))
                        self._ahead += job.size
                        self._cond.notify_all()
        finally:
            with self._cond:
                self._finished = True
                self._cond.notify_all()

    def take(self, max_bytes: int, max_units: int) -> list[Parsed]:
        """The next batch (blocking): parsed units until `max_bytes` or `max_units` is reached or
        nothing is left to parse; empty at the end."""
        batch: list[Parsed] = []
        size = 0
        with self._cond:
            while not self._stopped:
                while self._ready and size < max_bytes and len(batch) < max_units:
                    item = self._ready.popleft()
                    batch.append(item)
                    size += item[0].size
                    self._ahead -= item[0].size
                self._cond.notify_all()
                if size >= max_bytes or len(batch) >= max_units or (self._finished and not self._ready):
                    break
                self._cond.wait()
        return batch

    def stop(self) -> None:
        with self._cond:
            self._stopped = True
            self._cond.notify_all()


async def parsed_batches(
    source: HarvestSource, jobs: list[Job], workers: int
) -> AsyncGenerator[list[Parsed]]:
    """The jobs parsed, in batches of about `BATCH_BYTES` (one store transaction each); the next batch
    is parsed while the caller stores the last one."""
    if workers > 1 and sum(j.size for j in jobs) >= PROCESS_POOL_MIN_BYTES:
        async for batch in _in_processes(source, jobs, workers):
            yield batch
        return
    # A thread parses ahead while a batch is stored: storing is mostly SQLite's own work, which
    # releases the GIL. Batches are handed over whole: no event-loop round trip per unit.
    ahead = ParseAhead(source, jobs, THREAD_READ_AHEAD_BYTES)
    try:
        while batch := await asyncio.to_thread(ahead.take, BATCH_BYTES, BATCH_UNITS):
            yield batch
    finally:
        ahead.stop()


async def _in_processes(source: HarvestSource, jobs: list[Job], workers: int) -> AsyncGenerator[list[Parsed]]:
    loop = asyncio.get_running_loop()
    batch: list[Parsed] = []
    batch_bytes = 0
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        window = workers * IN_FLIGHT_PER_WORKER
        pending: dict[asyncio.Future[tuple[ParseOutcome, bool]], Job] = {}
        queue = iter(jobs)
        exhausted = False
        while True:
            while not exhausted and len(pending) < window:
                job = next(queue, None)
                if job is None:
                    exhausted = True
                    break
                pending[loop.run_in_executor(pool, guarded_parse, source, job.unit, job.resume)] = job
            if pending:
                finished, _ = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
                for fut in finished:
                    job = pending.pop(fut)
                    batch.append((job, *fut.result()))
                    batch_bytes += job.size
            if batch and (not pending or batch_bytes >= BATCH_BYTES or len(batch) >= BATCH_UNITS):
                yield batch
                batch, batch_bytes = [], 0
            if exhausted and not pending and not batch:
                break
