"""Benchmark of browser sessions through the HTTP API on a real uvicorn server.

    uv run python -m bench.browser_sessions [--creates 10] [--idle 3] [--scrapes 5]

Starts the server (as bench.sandbox_api does) twice, with `CHASM_BROWSER_WARM_POOL` 0 and 1, and
measures through HTTP with the bootstrap admin key:
  - browser create -> the session's Chromium answering `Browser.getVersion` over the gateway's
    DevTools socket, p50/p95 over --creates creates (with the pool on, each create waits for
    the pool to refill first, by default 3x the cold p50: the figure is a create served by a
    warm browser; a pause shorter than a cold start measures cold starts)
  - private memory (Private_Clean + Private_Dirty) of the processes of an idle browser session,
    averaged over --idle sessions
  - `browser.scrape` of a local page end to end (enqueue -> job succeeded, a new ephemeral
    browser each time, through a proxy-mode session whose proxy on 127.0.0.1 serves the page)
Yardstick in the same run: Debian's Chromium started directly on the host with the same flags
(no sandbox, no server) until it answers `Browser.getVersion`, right before each cold create (the
same load: on the shared machine load swings several-fold within minutes), and its idle private
memory.
Targets: warm <= 100 ms, cold <= 500 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import subprocess
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import websockets

from bench.sandbox_api import free_port, pct, start_server
from chasm.sandbox.browsers import FLAGS

PAGE = b"<html><head><title>Bench</title></head><body>" + b"<p>text</p>" * 500 + b"</body></html>"


def private_kib(pids: list[int]) -> int:
    total = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith(("Private_Clean:", "Private_Dirty:")):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total


def session_pids(session_id: str) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if session_id in Path(f"/proc/{entry}/cgroup").read_text():
                    found.append(int(entry))
            except OSError:
                continue
    return found


async def get_version(ws_url: str, headers: dict[str, str]) -> dict[str, Any]:
    async with websockets.connect(ws_url, additional_headers=headers) as socket:
        await socket.send(json.dumps({"id": 1, "method": "Browser.getVersion"}))
        answer: dict[str, Any] = json.loads(await socket.recv())
        return answer


async def create_to_cdp(client: httpx.AsyncClient, headers: dict[str, str]) -> tuple[str, float]:
    started = time.perf_counter()
    created = await client.post("/v1/sessions", json={"session_type": "browser", "ephemeral": True})
    created.raise_for_status()
    sid = created.json()["id"]
    version = (await client.get(f"/s/{sid}/json/version")).json()
    answer = await get_version(version["webSocketDebuggerUrl"], headers)
    assert answer["result"]["product"].startswith("Chrome/"), answer
    return sid, (time.perf_counter() - started) * 1000


async def serve_proxy() -> tuple[asyncio.AbstractServer, str]:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: %d\r\n\r\n" % len(PAGE))
        writer.write(PAGE)
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    return server, f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"


def _seconds_between(start: str, end: str) -> float:
    return (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds() * 1000


async def scrape(client: httpx.AsyncClient, proxy: str, ran: list[float]) -> float:
    body = {"url": "http://page.test/", "network": {"mode": "proxy", "proxy": {"url": proxy}}}
    started = time.perf_counter()
    job = (await client.post("/v1/jobs", json={"kind": "browser.scrape", "input": body})).json()
    while True:
        state = (await client.get(f"/v1/jobs/{job['id']}")).json()
        if state["status"] in ("succeeded", "failed", "canceled"):
            break
        await asyncio.sleep(0.01)
    assert state["status"] == "succeeded" and state["result"]["title"] == "Bench", state
    ran.append(_seconds_between(state["started_at"], state["finished_at"]))
    return (time.perf_counter() - started) * 1000


async def run_server(args: argparse.Namespace, pool: int) -> dict[str, Any]:
    os.environ["CHASM_BROWSER_WARM_POOL"] = str(pool)
    port = free_port()
    with tempfile.TemporaryDirectory() as data:
        proc, key = start_server(Path(data), port)
        headers = {"Authorization": f"Bearer {key}"}
        out: dict[str, Any] = {}
        try:
            async with httpx.AsyncClient(
                base_url=f"http://127.0.0.1:{port}", headers=headers, timeout=60
            ) as client:
                if pool:  # the pool fills on first use
                    sid, _ = await create_to_cdp(client, headers)
                    await client.delete(f"/v1/sessions/{sid}", params={"force": "true"})
                times, bare = [], []
                for _ in range(args.creates):
                    if pool:
                        await asyncio.sleep(args.refill_s)
                    else:  # the yardstick right before each cold create: the same load
                        bare.append((await bare_chromium(1, measure_memory=False))[0][0])
                    sid, elapsed = await create_to_cdp(client, headers)
                    times.append(elapsed)
                    await client.delete(f"/v1/sessions/{sid}", params={"force": "true"})
                out["create_to_cdp"], out["bare"] = times, bare
                if not pool:
                    idle = []
                    for _ in range(args.idle):
                        sid, _ = await create_to_cdp(client, headers)
                        idle.append(sid)
                    await asyncio.sleep(2)
                    out["idle_private_kib"] = [private_kib(session_pids(sid)) for sid in idle]
                    for sid in idle:
                        await client.delete(f"/v1/sessions/{sid}", params={"force": "true"})
                    server, proxy = await serve_proxy()
                    out["scrape_ran"] = []
                    out["scrape"] = [
                        await scrape(client, proxy, out["scrape_ran"]) for _ in range(args.scrapes)
                    ]
                    server.close()
        finally:
            proc.terminate()
            proc.wait(30)
    return out


async def bare_chromium(runs: int, measure_memory: bool = True) -> tuple[list[float], int]:
    """Chromium on the host, same flags, fresh profile: start -> Browser.getVersion answered."""
    times, memory = [], 0
    for index in range(runs):
        with tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as profile:
            port = free_port()
            flags = [f for f in FLAGS if not f.startswith("--remote-debugging-port")]
            started = time.perf_counter()
            proc = subprocess.Popen(
                [
                    "/usr/lib/chromium/chromium",
                    *flags,
                    f"--remote-debugging-port={port}",
                    f"--user-data-dir={profile}",
                ],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                start_new_session=True,
            )
            assert proc.stderr is not None
            path = ""
            while not path:
                line = proc.stderr.readline()
                found = re.search(rb"ws://[^/\s]+(/devtools/browser/[0-9a-f-]+)", line)
                if found:
                    path = found.group(1).decode()
                elif not line:
                    raise SystemExit("bare chromium did not start")
            await get_version(f"ws://127.0.0.1:{port}{path}", {})
            times.append((time.perf_counter() - started) * 1000)
            if measure_memory and index == runs - 1:
                await asyncio.sleep(2)
                from chasm.sandbox.drivers.process import descendants

                memory = private_kib([proc.pid, *descendants(proc.pid)])
            os.killpg(proc.pid, 9)
            proc.wait()
            await asyncio.sleep(0.2)  # its children go with the group
    return times, memory


def show(name: str, values: list[float]) -> None:
    print(f"{name:<44} p50 {pct(values, 0.5):7.1f} ms   p95 {pct(values, 0.95):7.1f} ms   (n={len(values)})")


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--creates", type=int, default=10)
    parser.add_argument("--idle", type=int, default=3)
    parser.add_argument("--scrapes", type=int, default=5)
    parser.add_argument(
        "--refill-s",
        type=float,
        default=None,
        help="pause before each warm create (default: 3x the cold p50, at least 1.5 s)",
    )
    args = parser.parse_args()
    _, bare_mem = await bare_chromium(1)
    cold = await run_server(args, 0)
    bare = cold["bare"]
    if args.refill_s is None:
        # The pool refills with a cold start: a shorter pause measures cold starts under load.
        args.refill_s = max(1.5, 3 * pct(cold["create_to_cdp"], 0.5) / 1000)
    warm = await run_server(args, 1)
    show("bare Chromium start -> getVersion (yardstick)", bare)
    show("create -> getVersion, pool off (cold)", cold["create_to_cdp"])
    show("create -> getVersion, pool on (warm)", warm["create_to_cdp"])
    print(f"  (each warm create after {args.refill_s:.1f} s for the pool to refill)")
    print(f"cold / bare p50 ratio: {pct(cold['create_to_cdp'], 0.5) / pct(bare, 0.5):.2f}")
    idle = cold["idle_private_kib"]
    print(
        f"private memory per idle browser session: {sum(idle) / len(idle) / 1024:.0f} MiB "
        f"(bare Chromium: {bare_mem / 1024:.0f} MiB)"
    )
    show("browser.scrape of a local page, end to end", cold["scrape"])
    show("  of which the job ran (started -> finished)", cold["scrape_ran"])


if __name__ == "__main__":
    asyncio.run(main())
