"""Benchmark of sandbox sessions through the HTTP API on a real uvicorn server.

    uv run python bench/sandbox_api.py [--creates 100] [--execs 200] [--concurrent 16] [--idle 200]

Starts `uvicorn chasm.app:create_app` in a child process on 127.0.0.1 with a throwaway data
directory (rate limits off), then measures, through HTTP with the bootstrap admin key:
  - session create -> running latency, p50/p95 over --creates back-to-back creates, and over
    --creates/3 creates --spacing-ms apart (the warm pool refills between them)
  - exec round trip of `true`, p50/p95 over --execs calls on one session
  - creates per second with --concurrent clients creating at once
  - memory overhead of --idle idle sessions (PSS growth of the server and every process under it,
    and the server's own RSS growth) and how many idle sessions the available memory would hold.
Targets on the development machine: create p50 <= 30 ms, exec p50 <= 12 ms, 500 idle fit.
Every session is terminated at the end. Prints figures only. The server runs on asyncio's loop:
under uvloop, spawning the driver's helper processes costs about 4x more (exec `true` p50 about
16 ms at the driver instead of 4 ms on this machine); `--loop uvloop` measures that.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from chasm.sandbox.drivers.process import descendants


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def mem_available_kib() -> int:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemAvailable:"):
            return int(line.split()[1])
    return 0


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def tree_pss_kib(pid: int) -> int:
    """Proportional set size of the server and every process under it (the sandboxes)."""
    total = 0
    for member in [pid, *descendants(pid)]:
        try:
            for line in Path(f"/proc/{member}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def start_server(data_dir: Path, port: int, loop: str = "asyncio") -> tuple[subprocess.Popen[str], str]:
    env = {
        **os.environ,
        "CHASM_DATA_DIR": str(data_dir),
        "CHASM_RATE_LIMIT_ENABLED": "false",
        "CHASM_SESSION_IDLE_TIMEOUT_S": "3600",
    }
    env.pop("CHASM_DATABASE_URL", None)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "chasm.app:create_app",
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--loop",
            loop,
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert proc.stdout is not None
    deadline = time.monotonic() + 60
    key = None
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        found = re.search(r"\b(sk_[A-Za-z0-9_-]{20,})", line)
        if found:
            key = found.group(1)
            break
    if key is None:
        proc.kill()
        raise SystemExit("the server did not start (no bootstrap key printed)")
    for _ in range(600):
        try:
            httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=1)
            return proc, key
        except httpx.TransportError:
            time.sleep(0.05)
    proc.kill()
    raise SystemExit("the server did not answer")


async def create(client: httpx.AsyncClient) -> tuple[str, float]:
    started = time.perf_counter()
    response = await client.post("/v1/sessions", json={"session_type": "sandbox", "ephemeral": True})
    elapsed = (time.perf_counter() - started) * 1000
    response.raise_for_status()
    body = response.json()
    assert body["status"] == "running", body
    return body["id"], elapsed


async def run(args: argparse.Namespace, base: str, key: str, server_pid: int) -> None:
    headers = {"Authorization": f"Bearer {key}"}
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=120, limits=limits) as client:
        for _ in range(3):  # warm up imports, caches and the connection
            sid, _ = await create(client)
            await client.post(f"/v1/sessions/{sid}/exec", json={"command": "true"})
        await client.post("/v1/sessions/bulk-terminate", json={"all": True, "force": True})

        latencies = []
        for _ in range(args.creates):
            _, ms = await create(client)
            latencies.append(ms)
        print(
            f"create -> running   p50 {pct(latencies, 0.5):7.1f} ms   p95 {pct(latencies, 0.95):7.1f} ms"
            f"   (n={len(latencies)}, target p50 <= 30 ms)"
        )
        await client.post("/v1/sessions/bulk-terminate", json={"all": True, "force": True})

        # Creates a moment apart, as clients usually make them: the warm pool refills in between.
        spaced = []
        for _ in range(max(1, args.creates // 3)):
            await asyncio.sleep(args.spacing_ms / 1000)
            _, ms = await create(client)
            spaced.append(ms)
        print(
            f"  one every {args.spacing_ms} ms  p50 {pct(spaced, 0.5):7.1f} ms"
            f"   p95 {pct(spaced, 0.95):7.1f} ms   (n={len(spaced)})"
        )
        await client.post("/v1/sessions/bulk-terminate", json={"all": True, "force": True})

        sid, _ = await create(client)
        execs = []
        for _ in range(args.execs):
            started = time.perf_counter()
            response = await client.post(f"/v1/sessions/{sid}/exec", json={"command": "true"})
            execs.append((time.perf_counter() - started) * 1000)
            assert response.json()["exit_code"] == 0
        print(
            f"exec `true`         p50 {pct(execs, 0.5):7.1f} ms   p95 {pct(execs, 0.95):7.1f} ms"
            f"   (n={len(execs)}, target p50 <= 12 ms)"
        )
        await client.post("/v1/sessions/bulk-terminate", json={"all": True, "force": True})

        per_client = max(1, args.creates // args.concurrent)

        async def worker() -> None:
            async with httpx.AsyncClient(base_url=base, headers=headers, timeout=120) as own:
                for _ in range(per_client):
                    await create(own)

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(args.concurrent)))
        elapsed = time.perf_counter() - started
        total = per_client * args.concurrent
        print(
            f"concurrent creates  {total / elapsed:7.1f} sessions/s"
            f"   ({args.concurrent} clients, {total} sessions)"
        )
        await client.post("/v1/sessions/bulk-terminate", json={"all": True, "force": True})

        await asyncio.sleep(1)
        available_before, rss_before = mem_available_kib(), rss_kib(server_pid)
        pss_before = tree_pss_kib(server_pid)
        for _ in range(args.idle):
            await create(client)
        await asyncio.sleep(2)
        rss_after, pss_after = rss_kib(server_pid), tree_pss_kib(server_pid)
        per_session = max(0, pss_after - pss_before) / args.idle
        print(
            f"idle sessions       {per_session:7.0f} KiB PSS each (server + sandbox processes)   "
            f"server RSS +{(rss_after - rss_before) / args.idle:.0f} KiB each   (n={args.idle})"
        )
        if per_session:
            fit = int(available_before / per_session)
            print(
                f"                    ~{fit} idle sessions fit in the"
                f" {available_before // 1024} MiB available   (target: 500)"
            )
        listed = (await client.get("/v1/sessions", params={"status": "running", "limit": 1})).json()
        print(f"                    {listed['total']} sessions running at the end of the idle run")
        await client.post("/v1/sessions/bulk-terminate", json={"all": True, "force": True})


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--creates", type=int, default=100)
    parser.add_argument("--execs", type=int, default=200)
    parser.add_argument("--concurrent", type=int, default=16)
    parser.add_argument("--idle", type=int, default=200)
    parser.add_argument("--spacing-ms", type=int, default=200, help="pause between the spaced creates")
    parser.add_argument(
        "--loop", default="asyncio", help="uvicorn event loop: asyncio (default) or uvloop (slower exec)"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="chasm-bench-api-") as tmp:
        port = free_port()
        proc, key = start_server(Path(tmp), port, args.loop)
        try:
            asyncio.run(run(args, f"http://127.0.0.1:{port}", key, proc.pid))
        finally:
            proc.terminate()
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
            print(f"(host: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at the end)")


if __name__ == "__main__":
    main()
