"""Benchmark of the bubblewrap sandbox driver (no HTTP): start, exec `true`, idle memory.

    uv run python bench/sandbox_driver.py [--starts 100] [--execs 200] [--idle 100]

Prints start p50/p95, exec round trip p50/p95 and the memory (PSS and RSS) per idle sandbox.
Runs as root on a throwaway data directory; every sandbox is stopped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

from chasm.config import Settings
from chasm.sandbox.drivers.base import SandboxSpec
from chasm.sandbox.drivers.bubblewrap import BubblewrapDriver
from chasm.sandbox.drivers.process import descendants


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def memory_kib(pid: int) -> tuple[int, int]:
    pss = rss = 0
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                pss = int(line.split()[1])
            elif line.startswith("Rss:"):
                rss = int(line.split()[1])
    except OSError:
        pass
    return pss, rss


async def main(starts: int, execs: int, idle: int) -> None:
    with tempfile.TemporaryDirectory(prefix="chasm-bench-") as tmp:
        settings = Settings(data_dir=Path(tmp) / "data")
        driver = BubblewrapDriver(settings)

        async def start(session_id: str) -> float:
            workspace = Path(tmp) / "ws" / session_id
            workspace.mkdir(parents=True)
            began = time.perf_counter()
            await driver.start(SandboxSpec(session_id=session_id, workspace_dir=workspace))
            return (time.perf_counter() - began) * 1000

        start_ms = [await start(f"s{i}") for i in range(starts)]
        for i in range(starts):
            await driver.stop(f"s{i}")
        p50, p95 = statistics.median(start_ms), pct(start_ms, 0.95)
        print(f"start           p50 {p50:6.1f} ms   p95 {p95:6.1f} ms   (n={starts})")

        await start("exec")
        exec_ms = []
        for _ in range(execs):
            began = time.perf_counter()
            result = await driver.exec("exec", "true")
            exec_ms.append((time.perf_counter() - began) * 1000)
            assert result.exit_code == 0
        await driver.stop("exec")
        p50, p95 = statistics.median(exec_ms), pct(exec_ms, 0.95)
        print(f"exec true       p50 {p50:6.1f} ms   p95 {p95:6.1f} ms   (n={execs})")

        for i in range(idle):
            await start(f"idle{i}")
        await asyncio.sleep(0.5)
        total_pss = total_rss = 0
        for sandbox in driver._sandboxes.values():
            for pid in [sandbox.monitor_pid, *descendants(sandbox.monitor_pid)]:
                pss, rss = memory_kib(pid)
                total_pss += pss
                total_rss += rss
        print(
            f"idle memory     PSS {total_pss / idle / 1024:5.2f} MiB   RSS {total_rss / idle / 1024:5.2f} MiB"
            f" per sandbox   (n={idle}; 500 sandboxes: PSS {total_pss * 500 / idle / 1024**2:.2f} GiB)"
        )
        for i in range(idle):
            await driver.stop(f"idle{i}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--starts", type=int, default=100)
    parser.add_argument("--execs", type=int, default=200)
    parser.add_argument("--idle", type=int, default=100)
    args = parser.parse_args()
    asyncio.run(main(args.starts, args.execs, args.idle))
