"""A server that cannot be reached is one line naming the URL, not a traceback."""

from __future__ import annotations

import socket
import subprocess
import sys


def test_unreachable_server_is_one_line() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "chasm.cli.main",
            "sandbox",
            "list",
            "--url",
            f"http://127.0.0.1:{port}",
            "--key",
            "sk_x",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert f"http://127.0.0.1:{port}/" in lines[0] and "Traceback" not in result.stderr
