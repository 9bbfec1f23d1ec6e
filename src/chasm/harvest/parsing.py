"""Parsing in the harvest: units are parsed (and made into rows, `prepare`) while earlier ones are
stored, in a parse-ahead thread, or in parser processes for large batches.

Sources are plain parsers: the guard (`prepare.guarded_parse`) pauses the cyclic garbage collector
and turns an exception into a parse issue of the unit, so no source needs to do either itself.
Parser processes are forked from a server process that imported only the parsing modules
(`forkserver`, where the platform has it), so each starts at once; they send back compact rows.
"""

from __future__ import annotations

import abc
import asyncio
import logging
import multiprocessing
import pickle
import threading
from collections import deque
from collections.abc import AsyncGenerator
from concurrent.futures import Future, ProcessPoolExecutor
from functools import partial
from multiprocessing.context import BaseContext

from chasm.harvest.model import ParseIssue, ParseOutcome
from chasm.harvest.prepare import Outcome, guarded_parse, prepare_unit, prepare_units
from chasm.harvest.spec import HarvestSource
from chasm.harvest.units import Job
from chasm.kit.gcpause import gc_pause

__all__ = ["Parsed", "guarded_parse", "parsed_batches"]

log = logging.getLogger("chasm.harvest")

# Source bytes (and units) stored per transaction: large enough that SQLite writes a batch's pages
# and its FTS segments once, not again and again; short enough to hold the write lock for a
# fraction of a second (32 MB of logs are about 4,500 messages: some 0.1 s of SQLite's time).
BATCH_BYTES = 32 * 1024 * 1024
FIRST_BATCH_BYTES = 2 * 1024 * 1024
BATCH_UNITS = 500
PROCESS_POOL_MIN_BYTES = 32 * 1024 * 1024  # below this, starting parser processes costs more than it saves
THREAD_READ_AHEAD_BYTES = BATCH_BYTES  # source bytes a parser thread may parse ahead of the store
PROCESS_READ_AHEAD_BYTES = 2 * BATCH_BYTES  # source bytes parser processes may parse ahead of the store
TASK_BYTES = 1024 * 1024  # source bytes per task sent to a parser process (fewer, larger round trips)
TASK_UNITS = 32

# (job, outcome, failed): `failed` when the source raised; the outcome then holds only that issue.
Parsed = tuple[Job, Outcome, bool]


class _Ahead(abc.ABC):
    """Parsed units in order of completion, handed over in batches by `take`. A subclass says
    when every unit is done (`_finished`) and may start more work before each wait (`_refill`)."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._ready: deque[Parsed] = deque()
        self._ahead = 0  # bytes parsed (or being parsed) and not taken yet
        self._stopped = False

    @abc.abstractmethod
    def _finished(self) -> bool:
        """Every unit parsed (or given up) and handed over to the ready queue."""

    def _refill(self) -> None:  # noqa: B027 (a hook: the thread-fed subclass has nothing to start)
        """Called with the lock held before `take` waits: start more work, if any waits."""

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
                self._refill()
                self._cond.notify_all()
                if size >= max_bytes or len(batch) >= max_units or (self._finished() and not self._ready):
                    break
                self._cond.wait()
        return batch


class ParseAhead(_Ahead):
    """Parses jobs in order in its own thread, at most `budget` source bytes ahead of `take`."""

    def __init__(self, jobs: list[Job], budget: int, encode: bool) -> None:
        super().__init__()
        self._jobs = jobs
        self._budget = budget
        self._encode = encode
        self._done = False
        self._thread = threading.Thread(target=self._run, name="chasm-harvest-parse", daemon=True)
        self._thread.start()

    def _finished(self) -> bool:
        return self._done

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
                    outcome, failed = prepare_unit(job.source, job.unit, job.resume, job.size, self._encode)
                    with self._cond:
                        self._ready.append((job, outcome, failed))
                        self._ahead += job.size
                        self._cond.notify_all()
        finally:
            with self._cond:
                self._done = True
                self._cond.notify_all()

    def stop(self) -> None:
        with self._cond:
            self._stopped = True
            self._cond.notify_all()


def _process_context(sources: list[HarvestSource]) -> BaseContext:
    """`forkserver` with the parsing modules imported once in its server (each parser process is a
    fork of it); `spawn` where there is no forkserver (each process imports them itself)."""
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    # Takes effect when the server starts (the first parser pool of this process).
    modules = {type(source).__module__ for source in sources}
    context.set_forkserver_preload(["chasm.harvest.prepare", *sorted(modules)])
    return context


class ProcessAhead(_Ahead):
    """Parses jobs in `workers` processes, at most `budget` source bytes ahead of `take`. Work is
    handed out by the thread that takes batches (never from the pool's own thread). Results are
    handed over in the jobs' order, as the parse thread hands them: where two units hold the same
    chat (two files of one session), the later one is stored last, whichever process finished
    first."""

    def __init__(self, jobs: list[Job], workers: int, budget: int, encode: bool) -> None:
        super().__init__()
        self._jobs = jobs
        self._next = 0
        self._running = 0
        self._sent = 0  # tasks submitted
        self._out = 0  # tasks handed over to the ready queue
        self._early: dict[int, list[Parsed]] = {}  # finished tasks waiting for an earlier one
        self._budget = budget
        self._encode = encode
        sources = list({id(job.source): job.source for job in jobs}.values())
        self._pool = ProcessPoolExecutor(workers, mp_context=_process_context(sources))
        with self._cond:
            self._refill()

    def _finished(self) -> bool:
        return self._next >= len(self._jobs) and self._running == 0

    def _refill(self) -> None:  # noqa: B027 (a hook: the thread-fed subclass has nothing to start)
        jobs = self._jobs
        while not self._stopped and self._next < len(jobs) and self._ahead < self._budget:
            source = jobs[self._next].source
            task: list[Job] = []
            size = 0
            while (
                self._next < len(jobs)
                and jobs[self._next].source is source
                and size < TASK_BYTES
                and len(task) < TASK_UNITS
            ):
                job = jobs[self._next]
                self._next += 1
                task.append(job)
                size += job.size
            self._ahead += size
            seq = self._sent
            self._sent += 1
            self._running += 1
            try:
                future = self._pool.submit(
                    prepare_units, source, [(j.unit, j.resume, j.size) for j in task], self._encode
                )
            except Exception as exc:  # noqa: BLE001 - a broken pool: the units are reported, not lost
                self._running -= 1
                self._hand_over(seq, [(job, *_failed(job, exc)) for job in task])
                continue
            future.add_done_callback(partial(self._finish, seq, task))

    def _hand_over(self, seq: int, parsed: list[Parsed]) -> None:
        """With the lock held: a task's results, and those of later tasks that waited for it, go
        to the ready queue in order."""
        self._early[seq] = parsed
        while self._out in self._early:
            self._ready.extend(self._early.pop(self._out))
            self._out += 1

    def _finish(self, seq: int, task: list[Job], future: Future[list[tuple[Outcome, bool]]]) -> None:
        if future.cancelled():
            return
        try:
            results = future.result()
        except Exception as exc:  # noqa: BLE001 - a parser process died (or its answer did not pickle)
            results = [_failed(job, exc) for job in task]
        with self._cond:
            self._running -= 1
            self._hand_over(seq, [(job, *result) for job, result in zip(task, results, strict=True)])
            self._cond.notify_all()

    def stop(self) -> None:
        with self._cond:
            self._stopped = True
            self._cond.notify_all()
        self._pool.shutdown(wait=True, cancel_futures=True)


def _picklable(jobs: list[Job]) -> bool:
    """Every source can be sent to a parser process (a third-party source may hold what cannot be
    pickled: it is then parsed in a thread, as with one worker)."""
    for source in {id(job.source): job.source for job in jobs}.values():
        try:
            pickle.dumps(source)
        except Exception:  # noqa: BLE001 - whatever pickling raises, the thread parses it
            log.info("harvest source %s cannot go to parser processes; parsed in a thread", source.name)
            return False
    return True


def _failed(job: Job, exc: BaseException) -> tuple[ParseOutcome, bool]:
    log.warning("harvest parse of %s failed in a parser process", job.unit.key, exc_info=exc)
    issue = ParseIssue(job.primary_path, f"could not be parsed: {type(exc).__name__}: {exc}")
    return ParseOutcome([], [issue]), True


async def parsed_batches(jobs: list[Job], workers: int, encode: bool = False) -> AsyncGenerator[list[Parsed]]:
    """The jobs (of one source or several) parsed and made into rows (encoded for SQLite with
    `encode`), in batches (one store transaction each): the next is parsed while the caller stores
    the last. A thread parses ahead while a batch is stored (storing is mostly SQLite's own work,
    which releases the GIL), or with `workers` > 1 and enough to parse, that many processes. The
    first batches are small, so that storing starts early, then grow to `BATCH_BYTES`. Batches
    are handed over whole: no event-loop round trip per unit."""
    ahead: ParseAhead | ProcessAhead
    if workers > 1 and sum(j.size for j in jobs) >= PROCESS_POOL_MIN_BYTES and _picklable(jobs):
        ahead = ProcessAhead(jobs, workers, PROCESS_READ_AHEAD_BYTES, encode)
    else:
        ahead = ParseAhead(jobs, THREAD_READ_AHEAD_BYTES, encode)
    size = FIRST_BATCH_BYTES
    try:
        while batch := await asyncio.to_thread(ahead.take, size, BATCH_UNITS):
            yield batch
            size = min(2 * size, BATCH_BYTES)
    finally:
        await asyncio.to_thread(ahead.stop)
