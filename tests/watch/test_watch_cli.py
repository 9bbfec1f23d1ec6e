"""`chasm harvest --watch`: a real CLI process following a transcript as it grows."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import uuid
from pathlib import Path

from chasm.config import Settings
from shared_fixtures import TRANSCRIPTS

FIXTURE = TRANSCRIPTS / (
    "claude-code/vsla_projects/-home-kenth56-vsla/e80aa543-6eff-4cb5-91e0-6d4e8e7951e9.jsonl"
)


async def test_harvest_watch_reports_each_change(settings: Settings, tmp_path: Path) -> None:
    home = tmp_path / "home"
    project = home / ".claude" / "projects" / "-home-me-proj"
    project.mkdir(parents=True)
    env = {
        **os.environ,
        "CHASM_DATA_DIR": str(settings.data_dir),
        "CHASM_DATABASE_URL": settings.effective_database_url,
        "CHASM_SECRET_KEY": settings.secret_key or "",
        "CHASM_HARVEST_HOME": str(home),
        "CHASM_ARGON2_TIME_COST": "1",
        "CHASM_ARGON2_MEMORY_KIB": "8192",
    }
    if settings.database_schema:
        env["CHASM_DATABASE_SCHEMA"] = settings.database_schema
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        "from chasm.cli.main import app; app()",
        "harvest",
        "--watch",
        "--json",
        "-p",
        "claude-code",
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert process.stdout is not None and process.stderr is not None
    try:
        banner = await asyncio.wait_for(process.stderr.readline(), 60)
        while b"Watching" not in banner:
            banner = await asyncio.wait_for(process.stderr.readline(), 60)
        lines = [
            x for x in FIXTURE.read_text().splitlines(keepends=True) if '"type":"user"' in x.replace(" ", "")
        ]
        transcript = project / f"{uuid.uuid4()}.jsonl"
        transcript.write_text(lines[0])
        first = json.loads(await asyncio.wait_for(process.stdout.readline(), 10))
        assert first["chats"] == 1 and first["messages"] >= 1
        with transcript.open("a") as out:
            out.write(lines[1])
        second = json.loads(await asyncio.wait_for(process.stdout.readline(), 10))
        assert second["messages"] >= 1
    finally:
        process.send_signal(signal.SIGINT)
        try:
            await asyncio.wait_for(process.wait(), 60)
        except TimeoutError:
            process.kill()
            await process.wait()
    assert process.returncode == 0, (await process.stderr.read()).decode()
