"""Chasm beside agentsview (the Go chat-history viewer) on the same files, in one run.

    uv run python -m bench.peer_agentsview              # 32 MB of Claude Code + Codex logs
    uv run python -m bench.peer_agentsview --size-mb 315
    uv run python -m bench.peer_agentsview --size-mb 315 --file-kb 53 --exact   # 6,534 files, as issue 17

The corpus is `bench.harvest`'s (the Claude Code and Codex fixtures replicated with fresh ids, laid
out under a private home folder, where both tools look). The peer is installed from PyPI into a
throwaway virtual environment (`agentsview`, a wheel that carries its Go binary); when it cannot
be installed the run says why and stops without failing. Nothing of the peer is kept in this
repository. Timed, whole process each, both on the same machine in the same run:

- cold index: `agentsview sync` (no daemon) against `chasm harvest -p claude-code -p codex`;
- unchanged re-index: the same commands again;
- message search over HTTP: `GET /api/v1/search?q=` of `agentsview serve --no-sync` against
  `GET /api/search/messages?q=` of `chasm api serve`, 20 hits a page, p50/p95 over the queries.

Figures only, no asserts; the ratios are Chasm's speed over the peer's (above 1: Chasm is faster).
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from bench.harvest import build_corpus

PEER_VERSION = "0.46.1"
QUERIES = [
    "README",
    "hoge",
    "print",
    "error",
    "directory",
    "git status",
    "test",
    "myapp",
    "function",
    "created",
]


def install_peer(venv: Path, version: str) -> Path | None:
    """The peer's executable, installed into `venv`; None (with the reason printed) if it cannot be."""
    uv = shutil.which("uv")
    if uv is None:
        print("peer skipped: uv is not on PATH to make its throwaway environment")
        return None
    try:
        subprocess.run([uv, "venv", "-q", str(venv)], check=True, capture_output=True, timeout=120)
        subprocess.run(
            [uv, "pip", "install", "-q", "--python", str(venv / "bin" / "python"), f"agentsview=={version}"],
            check=True,
            capture_output=True,
            timeout=600,
        )
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
        detail = getattr(exc, "stderr", b"") or b""
        print(f"peer skipped: agentsview {version} could not be installed: {detail.decode()[-300:]}")
        return None
    exe = venv / "bin" / "agentsview"
    if not exe.exists():
        print("peer skipped: the agentsview package installed no agentsview executable")
        return None
    return exe


def timed(argv: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(argv, env=env, check=True, capture_output=True, timeout=3600)
    return time.perf_counter() - started


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def serve(argv: list[str], env: dict[str, str], probe: str) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(probe, timeout=2).status_code < 500:
                return proc
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    proc.kill()
    raise RuntimeError(f"{argv[0]} did not answer at {probe}")


def latencies(url: str, param: str, rounds: int) -> list[float]:
    times = []
    with httpx.Client(timeout=30) as client:
        for q in QUERIES:
            client.get(url, params={param: q, "limit": 20}).raise_for_status()  # warm
        for _ in range(rounds):
            for q in QUERIES:
                started = time.perf_counter()
                client.get(url, params={param: q, "limit": 20}).raise_for_status()
                times.append(time.perf_counter() - started)
    return times


def p(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q) - 1] * 1000


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()) / "chasm-bench" / "peer")
    parser.add_argument("--size-mb", type=int, default=32, help="corpus size (default 32 MB)")
    parser.add_argument("--file-kb", type=int, default=100, help="size of each log file")
    parser.add_argument(
        "--exact",
        action="store_true",
        help="cut each file at --file-kb (whole lines); without it files are whole fixture copies",
    )
    parser.add_argument("--rounds", type=int, default=10, help="search rounds over the queries")
    parser.add_argument("--peer-version", default=PEER_VERSION)
    args = parser.parse_args()

    if args.dir.exists():
        shutil.rmtree(args.dir)
    peer = install_peer(args.dir / "peer-venv", args.peer_version)
    if peer is None:
        return
    home = args.dir / "home"
    files = build_corpus(home, args.size_mb * 1024 * 1024, args.file_kb * 1024, exact=args.exact)
    size = sum(path.stat().st_size for path, _, _ in files) / 1e6
    print(f"corpus: {len(files):,} files, {size:,.1f} MB (Claude Code + Codex)")

    base = {k: v for k, v in os.environ.items() if not k.startswith(("CHASM_", "AGENTSVIEW_"))}
    peer_env = {**base, "HOME": str(home), "AGENTSVIEW_NO_DAEMON": "1"}
    chasm_env = {
        **base,
        "HOME": str(home),
        "CHASM_DATA_DIR": str(args.dir / "chasm-data"),
        "CHASM_SECRET_KEY": "bench-secret",
    }
    chasm = [str(Path(sys.executable).parent / "chasm")]
    harvest = [*chasm, "harvest", "-p", "claude-code", "-p", "codex"]

    rows = []
    for label, peer_argv, chasm_argv in (
        ("cold index", [str(peer), "sync"], harvest),
        ("unchanged re-index", [str(peer), "sync"], harvest),
    ):
        peer_s, chasm_s = timed(peer_argv, peer_env), timed(chasm_argv, chasm_env)
        rows.append((label, peer_s * 1000, chasm_s * 1000))

    peer_port, chasm_port = free_port(), free_port()
    peer_url, chasm_url = f"http://127.0.0.1:{peer_port}", f"http://127.0.0.1:{chasm_port}"
    servers = [
        serve(
            [str(peer), "serve", "--no-sync", "--no-browser", "--no-update-check", "--port", str(peer_port)],
            peer_env,
            f"{peer_url}/api/v1/sessions",
        ),
        serve(
            [*chasm, "api", "serve", "--port", str(chasm_port), "--log-level", "warning"],
            chasm_env,
            f"{chasm_url}/api/health",
        ),
    ]
    try:
        peer_times = latencies(f"{peer_url}/api/v1/search", "q", args.rounds)
        chasm_times = latencies(f"{chasm_url}/api/search/messages", "q", args.rounds)
    finally:
        for proc in servers:
            proc.terminate()
            proc.wait(timeout=30)
    rows.append(("search p50 (HTTP)", p(peer_times, 50), p(chasm_times, 50)))
    rows.append(("search p95 (HTTP)", p(peer_times, 95), p(chasm_times, 95)))

    print(f"\n{'':22} {'agentsview':>12} {'chasm':>12} {'ratio':>8}")
    for label, peer_ms, chasm_ms in rows:
        print(f"{label:22} {peer_ms:10.1f}ms {chasm_ms:10.1f}ms {peer_ms / chasm_ms:7.2f}x")


if __name__ == "__main__":
    main()
