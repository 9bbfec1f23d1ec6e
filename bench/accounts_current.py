"""Throughput and latency of an authenticated request through the whole stack.

    uv run python -m bench.accounts_current [--requests 2000] [--concurrency 1,16,64]

Starts a real uvicorn server (`chasm api serve`) on 127.0.0.1 with a temporary data dir, takes
the bootstrap admin key it prints, and sends GET /v1/accounts/current with 1, 16 and 64
concurrent httpx clients (each its own connection). Prints requests/s and p50/p99 latency; stops
the server when done. Figures only, no asserts.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import signal
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

KEY_PATTERN = re.compile(rb"(sk_[A-Za-z0-9_\-]{20,})")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def start_server(data_dir: Path, port: int) -> tuple[asyncio.subprocess.Process, str]:
    env = {
        **os.environ,
        "CHASM_DATA_DIR": str(data_dir),
        "CHASM_EMBEDDED_WORKERS": "1",
        "CHASM_RATE_LIMIT_ENABLED": "false",
    }
    env.pop("CHASM_DATABASE_URL", None)
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        "from chasm.cli.main import app; app()",
        "api",
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--log-level",
        "warning",
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    assert process.stdout is not None
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        line = await asyncio.wait_for(process.stdout.readline(), max(1.0, deadline - time.monotonic()))
        if not line:
            raise RuntimeError(f"server exited with {await process.wait()}")
        found = KEY_PATTERN.search(line)
        if found:
            return process, found.group(1).decode()
    raise RuntimeError("server printed no bootstrap key")


async def wait_ready(base_url: str, key: str) -> None:
    async with httpx.AsyncClient(base_url=base_url, headers={"Authorization": f"Bearer {key}"}) as client:
        for _ in range(600):
            try:
                if (await client.get("/v1/accounts/current")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
    raise RuntimeError("server did not answer")


async def measure(base_url: str, key: str, concurrency: int, total: int) -> tuple[float, list[float], int]:
    latencies: list[float] = []
    errors = 0
    remaining = total

    async def client_loop() -> None:
        nonlocal remaining, errors
        headers = {"Authorization": f"Bearer {key}"}
        async with httpx.AsyncClient(base_url=base_url, headers=headers, timeout=60) as client:
            while remaining > 0:
                remaining -= 1
                started = time.perf_counter()
                response = await client.get("/v1/accounts/current")
                latencies.append(time.perf_counter() - started)
                if response.status_code != 200:
                    errors += 1

    started = time.perf_counter()
    await asyncio.gather(*(client_loop() for _ in range(concurrency)))
    return time.perf_counter() - started, latencies, errors


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=2000, help="requests per concurrency level")
    parser.add_argument("--concurrency", default="1,16,64", help="comma-separated client counts")
    args = parser.parse_args()
    levels = [int(level) for level in args.concurrency.split(",")]
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory(prefix="chasm-bench-") as tmp:
        process, key = await start_server(Path(tmp) / "data", port)
        try:
            await wait_ready(base_url, key)
            await measure(base_url, key, 4, 100)  # warm-up
            print(f"GET /v1/accounts/current, API key auth, SQLite, 1 uvicorn process, {os.cpu_count()} CPUs")
            print(f"{'clients':>8} {'requests':>9} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7}")
            for level in levels:
                elapsed, latencies, errors = await measure(base_url, key, level, args.requests)
                print(
                    f"{level:>8} {len(latencies):>9} {len(latencies) / elapsed:>9.0f} "
                    f"{statistics.median(latencies) * 1000:>8.1f} {percentile(latencies, 0.99) * 1000:>8.1f} "
                    f"{errors:>7}",
                    flush=True,
                )
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(process.wait(), 30)
            except TimeoutError:
                process.kill()
                await process.wait()


if __name__ == "__main__":
    asyncio.run(main())
