"""Chasm's overhead on a streamed chat completion, against a direct call to the same provider.

    uv run python -m bench.completions [--requests 200] [--words 4000]

Starts the fake OpenAI-compatible API of the tests (tests/fakes/llm_server.py, on 127.0.0.1, in
processes of its own) and a real `chasm api serve` (SQLite, one process) with a provider pointing at it, then:

1. Time to first token (the first content chunk), the yardstick first: the fake called directly,
   then the same request through Chasm's /api/v1/chat/completions (`provider/model` routing, the
   SDK client of the provider, SSE relayed); the requests of both alternate, `--requests` each.
   Reported: p50 and p95 of each, and Chasm's overhead (p50 through Chasm minus p50 direct).
   Target: <= 5 ms p50. Also the server's CPU time per request (from /proc: it varies little
   with the machine's load, which the latencies do) and the load average.
2. Stream relay rate: one answer of `--words` chunks, directly and through Chasm (which records
   it as a chat before `data: [DONE]`): chunks per second each, and the ratio.
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
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from fakes.llm_server import FakeLLM, Reply  # noqa: E402


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


async def _stream(client: httpx.AsyncClient, url: str, body: dict[str, Any]) -> tuple[float, float, int]:
    """(seconds to the first content chunk, seconds to the end, content chunks)."""
    started = time.perf_counter()
    first = 0.0
    chunks = 0
    async with client.stream("POST", url, json=body) as response:
        response.raise_for_status()
        async for line in response.aiter_lines():
            if not line.startswith("data: {"):
                continue
            choices = json.loads(line[6:]).get("choices") or [{}]
            if choices[0].get("delta", {}).get("content"):
                chunks += 1
                if not first:
                    first = time.perf_counter() - started
    return first, time.perf_counter() - started, chunks


def _cpu_s(pid: int) -> float:
    """CPU seconds (user + system) a process has used so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def _fake(words: int) -> tuple[asyncio.subprocess.Process, str]:
    """The fake API in its own process (not competing with this one's client for the GIL),
    answering every request with `words` chunks; and its /v1 URL."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bench.completions",
        "--serve-fake",
        str(words),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    assert process.stdout is not None
    return process, (await process.stdout.readline()).decode().strip()


def serve_fake(words: int) -> None:
    fake = FakeLLM(api_key=None).start()
    text = " ".join(f"w{i}" for i in range(words)) if words > 1 else "Hello from the fake model."
    fake.default = Reply(text=text)
    print(fake.openai_url, flush=True)
    sys.stdin.read()  # until the bench ends


async def run(requests: int, words: int) -> None:
    short, short_url = await _fake(1)
    long, long_url = await _fake(words)
    with tempfile.TemporaryDirectory(prefix="chasm-bench-completions-") as tmp:
        port = _free_port()
        env = {
            **os.environ,
            "CHASM_DATA_DIR": tmp,
            "CHASM_PORT": str(port),
            "CHASM_SANDBOX_WARM_POOL": "0",
            "CHASM_BROWSER_WARM_POOL": "0",
            "CHASM_ARGON2_TIME_COST": "1",
            "CHASM_ARGON2_MEMORY_KIB": "8192",
        }
        env.pop("CHASM_DATABASE_URL", None)
        log = open(Path(tmp) / "server.log", "wb")  # noqa: SIM115
        start = "from chasm.cli.main import app; app()"
        server = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            start,
            "api",
            "serve",
            env=env,
            stdout=log,
            stderr=asyncio.subprocess.STDOUT,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            async with httpx.AsyncClient(timeout=120) as c:
                for _ in range(600):
                    try:
                        if (await c.get(f"{url}/api/health")).status_code < 500:
                            break
                    except httpx.TransportError:
                        await asyncio.sleep(0.1)
                made = await c.post(
                    f"{url}/api/v1/providers",
                    json={"name": "fake", "type": "custom", "base_url": short_url},
                )
                made.raise_for_status()
                made = await c.post(
                    f"{url}/api/v1/providers",
                    json={"name": "long", "type": "custom", "base_url": long_url},
                )
                made.raise_for_status()
                body = {
                    "model": "fake/gpt-4o-mini",
                    "messages": [{"role": "user", "content": "Say hello."}],
                    "stream": True,
                }
                direct_url = f"{short_url}/chat/completions"
                chasm_url = f"{url}/api/v1/chat/completions"
                for _ in range(20):  # warm both paths (connections, caches)
                    await _stream(c, direct_url, body)
                    await _stream(c, chasm_url, body)
                direct: list[float] = []
                chasm: list[float] = []
                cpu_before = _cpu_s(server.pid)
                for _ in range(requests):
                    direct.append((await _stream(c, direct_url, body))[0])
                    chasm.append((await _stream(c, chasm_url, body))[0])
                cpu_ms = (_cpu_s(server.pid) - cpu_before) * 1000 / requests
                ms = 1000
                print(f"Time to first token, {requests} streamed requests each (ms):")
                for label, values in (("direct to the provider", direct), ("through Chasm", chasm)):
                    p50, p95 = _pct(values, 0.5) * ms, _pct(values, 0.95) * ms
                    print(f"  {label:<22}  p50 {p50:6.2f}  p95 {p95:6.2f}")
                overhead = (statistics.median(chasm) - statistics.median(direct)) * ms
                print(f"  Chasm's overhead p50: {overhead:.2f} ms (target <= 5 ms)")
                # Unlike the latencies, this hardly depends on what else the machine runs.
                print(f"  Chasm server CPU per streamed request (recording included): {cpu_ms:.2f} ms")
                load = " ".join(f"{x:.2f}" for x in os.getloadavg())
                print(f"  load average: {load} on {os.cpu_count()} CPUs")

                long_body = {**body, "model": "long/gpt-4o-mini"}
                _, direct_s, direct_n = await _stream(c, f"{long_url}/chat/completions", long_body)
                _, chasm_s, chasm_n = await _stream(c, chasm_url, long_body)
                assert direct_n == chasm_n == words, (direct_n, chasm_n)
                print(f"Stream of {words} chunks:")
                print(f"  direct to the provider  {direct_n / direct_s:10,.0f} chunks/s")
                print(f"  relayed by Chasm        {chasm_n / chasm_s:10,.0f} chunks/s")
                print(f"  ratio Chasm/direct: {(chasm_n / chasm_s) / (direct_n / direct_s):.2f}")
        finally:
            server.terminate()
            await server.wait()
            log.close()
            for process in (short, long):
                assert process.stdin is not None
                process.stdin.close()  # the fake's end
                await process.wait()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--words", type=int, default=4000)
    parser.add_argument("--serve-fake", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_fake is not None:
        serve_fake(args.serve_fake)
    else:
        asyncio.run(run(args.requests, args.words))


if __name__ == "__main__":
    main()
