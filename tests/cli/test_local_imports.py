"""Local commands start quickly: they import what they use, not the web server, the migration tool
or the clients of remote services (those imports were most of a CLI call's start)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from shared_fixtures import FIXTURES

# The web framework and server, the migration tool (not needed once the schema is current), HTTP
# and model-provider clients, and the vector index: none of them serves a local chat command.
NOT_FOR_LOCAL = (
    "fastapi",
    "starlette",
    "uvicorn",
    "alembic",
    "httpx",
    "openai",
    "anthropic",
    "numpy",
    "usearch",
)

# Runs the `chasm` entry point in-process, then prints which of NOT_FOR_LOCAL got imported.
PROBE = """
import json, sys
from chasm.cli.main import main
watched = set(json.loads(sys.argv[2]))
sys.argv = ["chasm", *json.loads(sys.argv[1])]
try:
    main()
except SystemExit as exc:
    if exc.code:
        raise
print(json.dumps(sorted({m.split(".")[0] for m in sys.modules} & watched)))
"""


def _chasm(env: dict[str, str], *args: str) -> list[str]:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(list(args)), json.dumps(NOT_FOR_LOCAL)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    imported: list[str] = json.loads(done.stdout.strip().splitlines()[-1])
    return imported


@pytest.fixture
def local_env(tmp_path: Path) -> dict[str, str]:
    home = tmp_path / "home"
    project = home / ".claude" / "projects" / "-home-me-proj"
    project.mkdir(parents=True)
    shutil.copy(FIXTURES / "transcripts" / "claude-code" / "agentsessions_stage0_claude_small.jsonl", project)
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHASM_")}
    env |= {"HOME": str(home), "CHASM_DATA_DIR": str(tmp_path / "data")}
    # The first call creates and migrates the library (that one needs Alembic).
    _chasm(env, "harvest", "--provider", "claude-code")
    return env


@pytest.mark.parametrize(
    "args",
    [
        ("harvest", "--provider", "claude-code"),
        ("chats", "list", "--json"),
        ("chats", "search", "hello", "--json"),
        ("stats",),
        ("version",),
        ("harvest", "--help"),
    ],
    ids=lambda args: " ".join(args),
)
def test_local_commands_import_only_what_they_use(local_env: dict[str, str], args: tuple[str, ...]) -> None:
    assert _chasm(local_env, *args) == []


@pytest.mark.parametrize(
    ("args", "printed"),
    [(("harvest", "-p", "claude-code"), "claude-code"), (("version",), "chasm ")],
    ids=lambda value: " ".join(value) if isinstance(value, tuple) else None,
)
def test_version_and_unchanged_harvest_load_no_database_layer_nor_command_line(
    local_env: dict[str, str], args: tuple[str, ...], printed: str
) -> None:
    # Answered before Typer (and its pydantic-built option parsing) loads; the unchanged harvest
    # by harvest.quick through sqlite3.
    heavy = ("sqlalchemy", "pydantic", "pydantic_settings", "typer", "aiosqlite")
    done = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(list(args)), json.dumps(heavy)],
        env=local_env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1]) == []
    assert printed in done.stdout
