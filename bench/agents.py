"""Benchmark of an agent's tool-call round trip on a real uvicorn server.

    uv run python -m bench.agents [--calls 100]

Starts the fake OpenAI-compatible API of the tests (tests/fakes/llm_server.py, on 127.0.0.1) and the
server in a child process (as bench.sandbox_api does), creates a provider on the fake API and an
agent with the `terminal` tool, then runs the agent on one task whose scripted model asks for
`terminal` `true` again and again: the round trip is the time from the fake API answering a tool
call to it receiving the next request carrying the result (Chasm parsing the reply, running the
command in the agent's sandbox, recording the step, sending the conversation back). Yardstick in
the same run: `POST /v1/sessions/{id}/exec` of `true` in the same (workspace) session. Prints p50/p95
and the ratio.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx

from bench.sandbox_api import free_port, pct, start_server

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from fakes.llm_server import FakeLLM, Received, Reply  # noqa: E402


class Stopwatch:
    """Scripted model replies that note when each request arrives and each reply leaves."""

    def __init__(self, calls: int) -> None:
        self.calls = calls
        self.arrived: list[float] = []
        self.lock = threading.Lock()

    def __call__(self, request: Received) -> Reply:
        with self.lock:
            self.arrived.append(time.perf_counter())
            n = len(self.arrived)
        if n > self.calls:
            return Reply(text="done")
        return Reply(tool_calls=[("terminal", {"command": "true"})])

    def round_trips(self, warmup: int) -> list[float]:
        """ms between consecutive model requests: one tool call answered and sent back each."""
        gaps = [(b - a) * 1000 for a, b in zip(self.arrived, self.arrived[1:], strict=False)]
        return gaps[warmup:]


async def run(calls: int, base: str, key: str, fake: FakeLLM, warmup: int) -> None:
    headers = {"Authorization": f"Bearer {key}"}
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=600) as api:
        provider = {"name": "fake", "type": "openai", "base_url": fake.openai_url, "api_key": fake.api_key}
        (
            await api.post("/api/v1/providers", json={**provider, "default_model": "gpt-4o-mini"})
        ).raise_for_status()
        agent = {"name": "bench", "model": "fake/gpt-4o-mini", "tools": ["terminal"], "max_steps": calls + 10}
        created = await api.post("/api/v1/agents", json={**agent, "timeout_s": 3600})
        created.raise_for_status()
        watch = Stopwatch(calls + warmup)
        fake.script([watch] * (calls + warmup + 1))
        r = await api.post(f"/api/v1/agents/{created.json()['id']}/run", json={"prompt": "run true"})
        assert r.status_code == 200 and r.json()["answer"] == "done", r.text[:500]
        round_trips = watch.round_trips(warmup)

        # Yardstick: the bare REST exec of `true` in a session of the same workspace.
        session = await api.post("/v1/sessions", json={"workspace": "agent-bench"})
        session.raise_for_status()
        sid = session.json()["id"]
        execs: list[float] = []
        for i in range(calls + warmup):
            started = time.perf_counter()
            out = await api.post(f"/v1/sessions/{sid}/exec", json={"command": "true"})
            assert out.status_code == 200 and out.json()["exit_code"] == 0, out.text
            if i >= warmup:
                execs.append((time.perf_counter() - started) * 1000)
        await api.delete(f"/v1/sessions/{sid}", params={"force": "true"})

    report(calls, round_trips, execs)


def report(calls: int, round_trips: list[float], execs: list[float]) -> None:
    rows: dict[str, Any] = {
        "agent tool call `terminal true` round trip": round_trips,
        "REST exec `true` (yardstick)": execs,
    }
    width = max(len(n) for n in rows)
    print(f"{calls} round trips, one agent run, its workspace's sandbox session")
    for name, values in rows.items():
        print(f"  {name:<{width}}  p50 {pct(values, 0.5):7.2f} ms   p95 {pct(values, 0.95):7.2f} ms")
    ratio = pct(round_trips, 0.5) / pct(execs, 0.5)
    print(f"  round trip / REST exec (p50): {ratio:.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=100)
    parser.add_argument("--warmup", type=int, default=5)
    args = parser.parse_args()
    fake = FakeLLM().start()
    try:
        with tempfile.TemporaryDirectory(prefix="chasm-bench-agents-") as tmp:
            proc, key = start_server(Path(tmp) / "data", port := free_port())
            try:
                asyncio.run(run(args.calls, f"http://127.0.0.1:{port}", key, fake, args.warmup))
            finally:
                proc.terminate()
                proc.wait(30)
    finally:
        fake.stop()


if __name__ == "__main__":
    main()
