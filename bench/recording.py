"""Recording throughput and watch-mode latency.

    uv run python -m bench.recording [--events 100000] [--batch 500] [--sessions 4] [--appends 30]
        [--embedder local|off] [--py-spy OUT]

1. Starts a real `chasm api serve` (SQLite, WAL, one process) on a fresh data dir, waits until
   its start-up work is done (its CPU use settles), and records `--events` message events over
   HTTP batches (`POST /api/recording/events`, one client per session, each waiting for its ack),
   then as many over `/ws/recording` (batches pipelined, up to 4 in flight per connection).
   Acknowledged = committed: the figures are durable events per second. The client encodes its
   batches (orjson) before the clock starts and checks each ack count. Also printed: the
   server's CPU time per event (user + system, from /proc), which the machine's load skews less,
   the parts of it spent by its event loop's thread and by the background semantic embedder's
   thread (the rest: the database's threads), and the client's own CPU time per event.
   Yardstick, same run: plain `sqlite3` writing the same rows (the messages, their full-text
   index, the events, the session and chat counters) in batches of the same size, one
   transaction each, into the server's own database: the floor of the storage work alone (its
   CPU per event printed too). `--py-spy OUT` records the server's stacks during both runs
   (collapsed stacks, for a profile: py-spy is not a dependency, pass where it is with
   CHASM_BENCH_PY_SPY or have it on PATH).
2. Watch mode: a `Watcher` (in this process, same SQLite setup) follows a Claude Code project
   folder; a line is appended `--appends` times and the time until its words match in the search
   index is measured (p50, p95). Targets: >= 10,000 events/s; <= 1 s p50.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import orjson
from sqlalchemy import text
from websockets.asyncio.client import connect

from chasm.kit import cjk
from chasm.kit.db import sqlite_pragmas
from chasm.recording.store import ordered_ids


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _events(session: str, start: int, count: int) -> list[dict[str, Any]]:
    return [
        {
            "session_id": session,
            "event_type": "message",
            "event_id": f"{session}-{i}",
            "data": {
                "role": "user" if i % 2 == 0 else "assistant",
                "content": f"event {i} of {session}: refactor the websocket retry backoff and the cache",
                "usage": {"input_tokens": 12, "output_tokens": 40},
            },
        }
        for i in range(start, start + count)
    ]


def _bodies(name: str, per_session: int, batch: int) -> list[bytes]:
    """A session's batches as the client sends them, encoded before the clock starts (orjson): the
    client shares the machine's cores with the server, and its own work is not what is measured."""
    return [orjson.dumps({"events": _events(name, start, batch)}) for start in range(0, per_session, batch)]


async def _http(url: str, bodies: dict[str, list[bytes]], batch: int) -> tuple[float, float]:
    """Seconds taken, and this process's CPU seconds meanwhile (the client's share). `bodies`:
    each session's batches, encoded."""
    async with httpx.AsyncClient(base_url=url, timeout=120) as api:
        names = list(bodies)
        for name in names:
            r = await api.post(
                "/api/recording/events", json={"session_id": name, "event_type": "session_start"}
            )
            r.raise_for_status()
        headers = {"content-type": "application/json"}

        async def one(name: str) -> None:
            for body in bodies[name]:
                r = await api.post("/api/recording/events", content=body, headers=headers)
                r.raise_for_status()
                if orjson.loads(r.content)["data"]["acked"] != batch:
                    raise RuntimeError(r.text)

        cpu = time.process_time()
        started = time.perf_counter()
        await asyncio.gather(*(one(n) for n in names))
        return time.perf_counter() - started, time.process_time() - cpu


async def _ws(
    url: str, texts: dict[str, list[str]], per_session: int, in_flight: int = 4
) -> tuple[float, float]:
    """Seconds taken, and this process's CPU seconds meanwhile (the client's share). `texts`: each
    session's batches, encoded."""
    ws_url = url.replace("http://", "ws://") + "/ws/recording"
    names = list(texts)

    async def one(name: str) -> None:
        async with connect(ws_url, max_size=None, compression=None) as ws:
            await ws.recv()
            await ws.send(json.dumps({"session_id": name, "event_type": "session_start"}))
            assert json.loads(await ws.recv())["type"] == "ack"
            window = asyncio.Semaphore(in_flight)

            async def sender() -> None:
                for text in texts[name]:
                    await window.acquire()
                    await ws.send(text)

            task = asyncio.create_task(sender())
            acked = 0
            while acked < per_session:
                reply = orjson.loads(await ws.recv())
                if reply["type"] != "ack":
                    raise RuntimeError(reply)
                acked += len(reply["acks"])
                window.release()
            await task

    cpu = time.process_time()
    started = time.perf_counter()
    await asyncio.gather(*(one(n) for n in names))
    return time.perf_counter() - started, time.process_time() - cpu


def _cpu_s(pid: int) -> float | None:
    """User + system CPU seconds of a process (Linux /proc), None elsewhere."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _main_thread_cpu_s(pid: int) -> float:
    """CPU seconds of the server's main thread (its event loop); the others are the database's
    and the embedder's threads."""
    try:
        fields = Path(f"/proc/{pid}/task/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _embedder_cpu_s(pid: int) -> float:
    """CPU seconds of the server's background embedding threads (named chasm-embedder*)."""
    total = 0.0
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            if not (task / "comm").read_text().startswith("chasm-embedder"):
                continue
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


async def _settle(pid: int, timeout: float = 120.0) -> None:
    """Wait until the server's start-up work (imports warmed in a thread, sweeps) is over."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        before = _cpu_s(pid)
        await asyncio.sleep(1.0)
        after = _cpu_s(pid)
        if before is None or after is None or after - before < 0.05:
            return


def _raw_sqlite(db_path: Path, total: int, batch: int) -> tuple[float, float]:
    """The yardstick: the rows the server stored for one session, written again by plain sqlite3
    (new ids and seqs, same content) in batches of `batch`, one transaction each; the seconds it
    took and the CPU seconds it used."""
    db = sqlite3.connect(db_path, isolation_level=None)
    cjk.register_sqlite(db)  # the search index's triggers call it, as on the server's connections
    sqlite_pragmas(db)  # the server's settings: WAL, page cache, memory map, checkpoints
    db.row_factory = sqlite3.Row
    session = db.execute(
        "SELECT id, chat_id FROM recording_sessions ORDER BY last_seq DESC LIMIT 1"
    ).fetchone()
    events = db.execute(
        "SELECT * FROM recording_events WHERE recording_id = ? AND message_id IS NOT NULL"
        " ORDER BY seq LIMIT ?",
        (session["id"], batch),
    ).fetchall()
    ids = [e["message_id"] for e in events]
    cpu = time.process_time()
    messages = {
        m["id"]: dict(m)
        for m in db.execute(f"SELECT * FROM chat_messages WHERE id IN ({','.join('?' * len(ids))})", ids)
    }
    seq = db.execute("SELECT max(seq) FROM chat_messages").fetchone()[0] + 1
    event_seq = db.execute("SELECT max(seq) FROM recording_events").fetchone()[0] + 1
    m_cols = list(next(iter(messages.values())))
    e_cols = list(events[0].keys())
    m_sql = f"INSERT INTO chat_messages ({','.join(m_cols)}) VALUES ({','.join('?' * len(m_cols))})"
    e_sql = f"INSERT INTO recording_events ({','.join(e_cols)}) VALUES ({','.join('?' * len(e_cols))})"
    started = time.perf_counter()
    for _ in range(0, total, batch):
        m_rows, e_rows = [], []
        ids = iter(ordered_ids(2 * len(events)))  # the server's ids (time-ordered)
        for e in events:
            m = dict(messages[e["message_id"]], id=next(ids), seq=seq, source_id=f"raw-{seq}")
            m_rows.append(tuple(m[c] for c in m_cols))
            row = dict(e, id=next(ids), seq=event_seq, event_id=f"raw-{seq}", message_id=m["id"])
            e_rows.append(tuple(row[c] for c in e_cols))
            seq, event_seq = seq + 1, event_seq + 1
        db.execute("BEGIN IMMEDIATE")
        db.executemany(m_sql, m_rows)
        db.executemany(e_sql, e_rows)
        db.execute("UPDATE recording_sessions SET last_seq = ? WHERE id = ?", (event_seq - 1, session["id"]))
        db.execute(
            "UPDATE chats SET message_count = message_count + ? WHERE id = ?",
            (len(m_rows), session["chat_id"]),
        )
        db.execute("COMMIT")
    took = time.perf_counter() - started
    db.close()
    return took, time.process_time() - cpu


async def recording(events: int, batch: int, sessions: int, embedder: str, py_spy: str | None) -> None:
    with tempfile.TemporaryDirectory(prefix="chasm-bench-rec-") as tmp:
        port = _free_port()
        env = {
            **os.environ,
            "CHASM_DATA_DIR": tmp,
            "CHASM_PORT": str(port),
            "CHASM_SANDBOX_WARM_POOL": "0",
            "CHASM_ARGON2_TIME_COST": "1",
            "CHASM_ARGON2_MEMORY_KIB": "8192",
            "CHASM_SEMANTIC_EMBEDDER": embedder,
        }
        env.pop("CHASM_DATABASE_URL", None)
        log = open(Path(tmp) / "server.log", "wb")  # noqa: SIM115
        server = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            "from chasm.cli.main import app; app()",
            "api",
            "serve",
            env=env,
            stdout=log,
            stderr=asyncio.subprocess.STDOUT,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            async with httpx.AsyncClient() as c:
                for _ in range(600):
                    try:
                        if (await c.get(f"{url}/api/health")).status_code < 500:
                            break
                    except httpx.TransportError:
                        await asyncio.sleep(0.1)
            await _settle(server.pid)
            per_session = events // sessions
            total = per_session * sessions
            spy = None
            if py_spy:
                spy = await asyncio.create_subprocess_exec(
                    os.environ.get("CHASM_BENCH_PY_SPY", "py-spy"),
                    *("record", "--pid", str(server.pid), "--format", "raw", "--rate", "250"),
                    *("--nonblocking", "-o", py_spy),
                    stdout=asyncio.subprocess.DEVNULL,
                    stderr=asyncio.subprocess.DEVNULL,
                )

            Sample = tuple[float | None, float, float]

            def sample() -> Sample:
                return _cpu_s(server.pid), _main_thread_cpu_s(server.pid), _embedder_cpu_s(server.pid)

            def show(what: str, took: float, client: float, before: Sample) -> float:
                (cpu, loop, emb), (cpu_after, loop_after, emb_after) = before, sample()
                rate = total / took
                per = ""
                if cpu is not None and cpu_after is not None:
                    us = [(x * 1e6 / total) for x in (cpu_after - cpu, loop_after - loop, emb_after - emb)]
                    per = f", server CPU {us[0]:.0f} µs/event (event loop {us[1]:.0f}"
                    per += f", embedder thread {us[2]:.0f})" if us[2] else ")"
                per += f", client CPU {client * 1e6 / total:.0f} µs/event"
                print(f"{what}: {total} events in {took:.2f} s = {rate:,.0f} acked events/s{per}")
                return rate

            # Every batch encoded before the first is sent: no pause between the two runs (the
            # semantic indexer would take it to embed the first run's messages).
            http_names = [f"http-{uuid.uuid4().hex[:8]}" for _ in range(sessions)]
            ws_names = [f"ws-{uuid.uuid4().hex[:8]}" for _ in range(sessions)]
            bodies = {name: _bodies(name, per_session, batch) for name in http_names}
            texts = {name: [b.decode() for b in _bodies(name, per_session, batch)] for name in ws_names}
            before = sample()
            took, client = await _http(url, bodies, batch)
            http_rate = show(f"HTTP batches of {batch}, {sessions} sessions", took, client, before)
            before = sample()
            took, client = await _ws(url, texts, per_session)
            ws_rate = show(f"WebSocket batches of {batch}, {sessions} connections", took, client, before)
            if spy is not None:
                spy.send_signal(2)
                await spy.wait()
            server.terminate()
            await server.wait()
            took, cpu_raw = _raw_sqlite(Path(tmp) / "chasm.db", total, batch)
            raw = total / took
            print(
                f"Yardstick: plain sqlite3, same rows, batches of {batch}: {total} events in {took:.2f} s"
                f" = {raw:,.0f} events/s, CPU {cpu_raw * 1e6 / total:.0f} µs/event;"
                f" HTTP at {http_rate / raw:.0%} of it, WebSocket at {ws_rate / raw:.0%}"
            )
            print(f"Load average during the run: {', '.join(f'{x:.2f}' for x in os.getloadavg())}")
        finally:
            if server.returncode is None:
                server.terminate()
                await server.wait()
            log.close()


def _claude_line(session: str, i: int, word: str) -> str:
    record = {
        "parentUuid": None,
        "isSidechain": False,
        "userType": "external",
        "cwd": "/home/me/proj",
        "sessionId": session,
        "version": "1.0.53",
        "type": "user",
        "message": {"role": "user", "content": f"please look at {word} now"},
        "uuid": str(uuid.uuid4()),
        "timestamp": f"2026-01-01T00:00:{i % 60:02d}.000Z",
    }
    return json.dumps(record) + "\n"


async def watch_latency(appends: int) -> None:
    from chasm.app import create_app
    from chasm.auth import repository as auth_repo
    from chasm.config import Settings
    from chasm.watch.watcher import Watcher

    with tempfile.TemporaryDirectory(prefix="chasm-bench-watch-") as tmp:
        home = Path(tmp) / "home"
        project = home / ".claude" / "projects" / "-home-me-proj"
        project.mkdir(parents=True)
        settings = Settings(data_dir=Path(tmp) / "data", harvest_home=home, sandbox_warm_pool=0)
        app = create_app(settings)
        async with app.router.lifespan_context(app):
            async with app.state.sessionmaker() as db:
                owner = await auth_repo.first_owner(db)
                assert owner is not None
                account = await auth_repo.personal_account(db, owner.id)
                assert account is not None
            watcher = Watcher(app.state.sessionmaker, settings, account.id, providers=["claude-code"])
            stop = asyncio.Event()
            task = asyncio.create_task(watcher.run(stop))
            await watcher.ready.wait()
            session = str(uuid.uuid4())
            path = project / f"{session}.jsonl"
            latencies = []
            with path.open("a") as out:
                for i in range(appends):
                    word = f"zq{uuid.uuid4().hex[:10]}"
                    started = time.perf_counter()
                    out.write(_claude_line(session, i, word))
                    out.flush()
                    while True:
                        async with app.state.sessionmaker() as db:
                            hit = await db.scalar(
                                text(
                                    "SELECT count(*) FROM chat_messages_fts WHERE chat_messages_fts MATCH :w"
                                ),
                                {"w": word},
                            )
                        if hit:
                            break
                        if time.perf_counter() - started > 10:
                            raise RuntimeError("a message did not arrive within 10 s")
                        await asyncio.sleep(0.005)
                    latencies.append(time.perf_counter() - started)
            stop.set()
            await task
        latencies.sort()
        p95 = latencies[int(len(latencies) * 0.95) - 1]
        print(
            f"Watch: line appended -> searchable, {appends} appends: "
            f"p50 {statistics.median(latencies) * 1000:.0f} ms, "
            f"p95 {p95 * 1000:.0f} ms, max {latencies[-1] * 1000:.0f} ms"
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--sessions", type=int, default=4)
    parser.add_argument("--appends", type=int, default=30)
    parser.add_argument("--embedder", default="local", help="the server's semantic_embedder (local, off)")
    parser.add_argument("--py-spy", default=None, metavar="OUT", help="record the server's stacks here")
    args = parser.parse_args()
    asyncio.run(recording(args.events, args.batch, args.sessions, args.embedder, args.py_spy))
    if args.appends:
        asyncio.run(watch_latency(args.appends))


if __name__ == "__main__":
    main()
