"""Webhook delivery and job throughput on one server.

    uv run python -m bench.webhooks_jobs [--events 2000] [--jobs 1000] [--pg postgresql://...]

1. Deliveries per second: `--events` events emitted into the outbox (committed in batches of 100)
   and delivered, signed, to a receiver in another process on 127.0.0.1, to one endpoint (strictly
   in order) and spread over 8 endpoints; emitted while the dispatcher delivers, and as a backlog
   emitted first (delivery alone). Yardsticks, in the same run, against the same receiver
   (unsigned, no database): a bare httpx loop (a general client), and a bare loop of raw HTTP/1.1
   POSTs on one asyncio connection parsed by httptools (the floor: what the dispatcher's own
   client does, without the outbox, signing and SSRF check).
2. Event-to-delivery latency: 200 events, one committed every 10 ms; each carries the time it was
   emitted (just before its commit) and the receiver notes when it arrived; p50 and p99.
3. No-op jobs per second with one and two embedded workers, on SQLite and (when `--pg` or
   CHASM_BENCH_PG_URL names a server) PostgreSQL.

Targets (issue 14): ≥ 500 deliveries/s on SQLite with one server; p50 latency ≤ 50 ms.
The server is the real app (create_app) with SQLite in a temporary data dir.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
from pydantic import BaseModel

RECEIVER = r"""
import asyncio, json, sys, time
counts = {"n": 0}
lat = []

async def handle(reader, writer):
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            body = await reader.readexactly(length)
            if body.startswith(b"{"):
                counts["n"] += 1
                data = json.loads(body).get("data", {})
                if "t" in data:
                    lat.append(time.time() - data["t"])
            writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        writer.close()

async def control(reader, writer):
    cmd = (await reader.readline()).strip()
    if cmd == b"reset":
        counts["n"] = 0
        lat.clear()
    writer.write(json.dumps({"n": counts["n"], "lat": lat}).encode() + b"\n")
    await writer.drain()
    writer.close()

async def main():
    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    ctl = await asyncio.start_server(control, "127.0.0.1", 0)
    print(server.sockets[0].getsockname()[1], ctl.sockets[0].getsockname()[1], flush=True)
    await asyncio.Event().wait()

asyncio.run(main())
"""


class NoInput(BaseModel):
    pass


def _register_noop() -> None:
    from chasm.jobs.registry import JobContext, job_kind

    @job_kind("bench.noop", NoInput, scope="sessions.write", description="Does nothing")
    async def noop(ctx: JobContext, data: NoInput) -> dict[str, Any]:
        return {}


async def _ask(port: int, cmd: str = "get") -> dict[str, Any]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(cmd.encode() + b"\n")
    await writer.drain()
    answer: dict[str, Any] = json.loads(await reader.readline())
    writer.close()
    return answer


async def _wait_count(ctl: int, target: int, timeout: float = 600) -> float:
    started = time.perf_counter()
    while True:
        got = (await _ask(ctl))["n"]
        if got >= target:
            return time.perf_counter() - started
        if time.perf_counter() - started > timeout:
            raise RuntimeError(f"only {got} of {target} deliveries arrived")
        await asyncio.sleep(0.01)


def _settings(data_dir: Path, database_url: str | None, schema: str | None, workers: int) -> Any:
    from chasm.config import Settings

    return Settings(
        data_dir=data_dir,
        secret_key="bench-" + uuid.uuid4().hex,
        database_url=database_url,
        database_schema=schema,
        embedded_workers=workers,
        webhook_allowed_networks=["127.0.0.0/8"],
        sandbox_warm_pool=0,
        rate_limit_enabled=False,
        argon2_time_cost=1,
        argon2_memory_kib=8 * 1024,
    )


async def _owner_account(app: Any) -> uuid.UUID:
    from chasm.auth import repository as auth_repo

    async with app.state.sessionmaker() as db:
        owner = await auth_repo.first_owner(db)
        account = await auth_repo.personal_account(db, owner.id)
        return uuid.UUID(str(account.id))


async def _add_endpoints(app: Any, account_id: uuid.UUID, url: str, count: int) -> None:
    from chasm.kit.crypto import Box
    from chasm.kit.db import transaction
    from chasm.models import WebhookEndpoint
    from chasm.webhooks.service import new_secret

    async with transaction(app.state.sessionmaker) as db:
        for _ in range(count):
            db.add(
                WebhookEndpoint(
                    account_id=account_id,
                    url=url,
                    event_types=["job.succeeded"],
                    secret_sealed=Box(app.state.secret_key).encrypt(new_secret()),
                )
            )


async def _emit(app: Any, account_id: uuid.UUID, count: int, batch: int = 100) -> None:
    from chasm.kit.db import transaction
    from chasm.webhooks.outbox import emit

    for start in range(0, count, batch):
        async with transaction(app.state.sessionmaker) as db:
            for i in range(start, min(count, start + batch)):
                await emit(db, account_id, "job.succeeded", {"n": i})


async def _yardstick(url: str, ctl: int, count: int) -> float:
    await _ask(ctl, "reset")
    body = json.dumps({"type": "job.succeeded", "data": {"n": 0}}).encode()
    async with httpx.AsyncClient() as client:
        started = time.perf_counter()
        for _ in range(count):
            await client.post(url, content=body, headers={"content-type": "application/json"})
        return count / (time.perf_counter() - started)


async def _yardstick_raw(port: int, ctl: int, count: int) -> float:
    import httptools

    await _ask(ctl, "reset")
    body = json.dumps({"type": "job.succeeded", "data": {"n": 0}}).encode()
    head = (
        f"POST /hook HTTP/1.1\r\nhost: 127.0.0.1:{port}\r\ncontent-type: application/json\r\n"
        f"content-length: {len(body)}\r\n\r\n"
    ).encode()

    class Answer:
        done = False

        def on_message_complete(self) -> None:
            self.done = True

    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    started = time.perf_counter()
    for _ in range(count):
        answer = Answer()
        parser = httptools.HttpResponseParser(answer)
        writer.write(head + body)
        while not answer.done:
            parser.feed_data(await reader.read(65536))
    rate = count / (time.perf_counter() - started)
    writer.close()
    return rate


async def _deliveries(url: str, ctl: int, events: int, endpoints: int, backlog: bool) -> float:
    """`events` deliveries over `endpoints`: emitted while the dispatcher runs, or all emitted
    first (the dispatcher paused) and then timed from its wake-up to the last arrival."""
    from chasm.app import create_app
    from chasm.webhooks import outbox

    with tempfile.TemporaryDirectory() as tmp:
        settings = _settings(Path(tmp), None, None, 1)
        settings.webhook_dispatch_interval_s = 3600.0  # woken by commits only
        app = create_app(settings)
        async with app.router.lifespan_context(app):
            dispatcher = app.state.webhook_dispatcher
            account_id = await _owner_account(app)
            await _add_endpoints(app, account_id, url, endpoints)
            await _ask(ctl, "reset")
            if backlog:
                outbox.remove_waker(dispatcher.waker)
                await _emit(app, account_id, events // endpoints)
                outbox.add_waker(dispatcher.waker)
                started = time.perf_counter()
                dispatcher.waker.set()
            else:
                started = time.perf_counter()
                await _emit(app, account_id, events // endpoints)
            await _wait_count(ctl, events // endpoints * endpoints)
            return events // endpoints * endpoints / (time.perf_counter() - started)


async def bench_webhooks(events: int) -> None:
    receiver = await asyncio.create_subprocess_exec(
        sys.executable, "-c", RECEIVER, stdout=asyncio.subprocess.PIPE
    )
    assert receiver.stdout is not None
    port, ctl = (int(x) for x in (await receiver.stdout.readline()).split())
    url = f"http://127.0.0.1:{port}/hook"
    try:
        bare = await _yardstick(url, ctl, events)
        raw = await _yardstick_raw(port, ctl, events)
        print(f"yardstick: bare httpx POSTs, one at a time         {bare:8.0f} /s")
        print(f"yardstick: raw HTTP/1.1 POSTs (httptools), one at a time {raw:8.0f} /s")
        for endpoints in (1, 8):
            for backlog in (False, True):
                rate = await _deliveries(url, ctl, events, endpoints, backlog)
                what = "backlog, delivery only" if backlog else "emitted while delivering"
                print(
                    f"deliveries, SQLite, {endpoints} endpoint(s), {what:24s}: {events:6d}"
                    f"  {rate:8.0f} /s  ({rate / bare:.2f} x httpx, {rate / raw:.2f} x raw;"
                    " target >= 500/s)"
                )
    finally:
        receiver.kill()
        await receiver.wait()


async def bench_latency(samples: int = 200) -> None:
    from chasm.app import create_app
    from chasm.kit.db import transaction
    from chasm.webhooks.outbox import emit

    receiver = await asyncio.create_subprocess_exec(
        sys.executable, "-c", RECEIVER, stdout=asyncio.subprocess.PIPE
    )
    assert receiver.stdout is not None
    port, ctl = (int(x) for x in (await receiver.stdout.readline()).split())
    try:
        with tempfile.TemporaryDirectory() as tmp:
            app = create_app(_settings(Path(tmp), None, None, 1))
            async with app.router.lifespan_context(app):
                account_id = await _owner_account(app)
                await _add_endpoints(app, account_id, f"http://127.0.0.1:{port}/hook", 1)
                await _ask(ctl, "reset")
                for _ in range(samples):
                    async with transaction(app.state.sessionmaker) as db:
                        await emit(db, account_id, "job.succeeded", {"t": time.time()})
                    await asyncio.sleep(0.01)
                await _wait_count(ctl, samples)
                lat = sorted((await _ask(ctl))["lat"])
                p50 = statistics.median(lat) * 1000
                p99 = lat[int(len(lat) * 0.99) - 1] * 1000
                print(
                    f"event -> delivery latency, SQLite: p50 {p50:6.1f} ms  p99 {p99:6.1f} ms"
                    "  (target p50 <= 50 ms)"
                )
    finally:
        receiver.kill()
        await receiver.wait()


async def bench_jobs(count: int, pg_url: str | None) -> None:
    from sqlalchemy import func, select

    from chasm.app import create_app
    from chasm.jobs.service import enqueue
    from chasm.kit.db import transaction
    from chasm.models import Job

    _register_noop()
    targets: list[tuple[str, str | None]] = [("SQLite", None)]
    if pg_url:
        targets.append(("PostgreSQL", pg_url))
    for label, url in targets:
        for workers in (1, 2):
            schema = f"bench_{uuid.uuid4().hex[:8]}" if url else None
            if url and schema:
                await _pg_schema(url, "create", schema)
            try:
                with tempfile.TemporaryDirectory() as tmp:
                    app = create_app(_settings(Path(tmp), url, schema, workers))
                    async with app.router.lifespan_context(app):
                        account_id = await _owner_account(app)
                        started = time.perf_counter()
                        for start in range(0, count, 100):
                            async with transaction(app.state.sessionmaker) as db:
                                for _ in range(min(100, count - start)):
                                    await enqueue(db, account_id=account_id, kind="bench.noop", input={})
                        while True:
                            async with app.state.sessionmaker() as db:
                                done = (
                                    await db.execute(
                                        select(func.count()).select_from(Job).where(Job.status == "succeeded")
                                    )
                                ).scalar_one()
                            if done >= count:
                                break
                            await asyncio.sleep(0.02)
                        rate = count / (time.perf_counter() - started)
                        print(f"no-op jobs, {label:10s} {workers} worker(s): {count} jobs  {rate:8.0f} /s")
            finally:
                if url and schema:
                    await _pg_schema(url, "drop", schema)


async def _pg_schema(url: str, action: str, schema: str) -> None:
    import asyncpg

    conn = await asyncpg.connect("postgresql://" + url.split("://", 1)[1])
    try:
        if action == "create":
            await conn.execute(f'CREATE SCHEMA "{schema}"')
        else:
            await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    finally:
        await conn.close()


def _pg_reachable(url: str | None) -> str | None:
    if not url:
        return None
    host = url.split("@")[-1].split("/")[0]
    name, _, port = host.partition(":")
    try:
        with socket.create_connection((name, int(port or 5432)), timeout=1):
            return url
    except OSError:
        print(f"PostgreSQL at {host} not reachable: skipped")
        return None


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--pg", default=os.environ.get("CHASM_BENCH_PG_URL"))
    args = parser.parse_args()
    await bench_webhooks(args.events)
    await bench_latency()
    await bench_jobs(args.jobs, _pg_reachable(args.pg))


if __name__ == "__main__":
    import logging

    logging.basicConfig(level=logging.WARNING)
    asyncio.run(main())
