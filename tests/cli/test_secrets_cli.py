"""`chasm secrets scan|redact` on a harvested library; the redaction survives later harvests,
whether the transcript only grew or was rewritten whole."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from chasm.cli.main import app as cli
from chasm.config import Settings, get_settings

KEY = "sk-ant-api03-Zr8Kq2Lm5Np9Tx3Vb7Wc1Yd4Fe6Gh0Jk2Ll5Mn8Pq1Rs4Tu7Vw0Xy3"
SESSION = "5b7c1e2a-1111-4222-8333-944455556666"


def line(uid: str, role: str, text: str) -> str:
    record = {
        "type": role,
        "uuid": uid,
        "sessionId": SESSION,
        "cwd": "/home/me/proj",
        "timestamp": f"2026-01-01T00:00:0{uid[-1]}Z",
        "message": {"role": role, "content": text},
    }
    return json.dumps(record) + "\n"


@pytest.fixture
def transcript(settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    home = tmp_path / "home"
    path = home / ".claude" / "projects" / "-home-me-proj" / f"{SESSION}.jsonl"
    path.parent.mkdir(parents=True)
    path.write_text(
        line("u1", "user", f"deploy with ANTHROPIC_API_KEY={KEY}") + line("u2", "assistant", "Done.")
    )
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("CHASM_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("CHASM_DATABASE_URL", settings.effective_database_url)
    if settings.database_schema:
        monkeypatch.setenv("CHASM_DATABASE_SCHEMA", settings.database_schema)
    monkeypatch.setenv("CHASM_SECRET_KEY", settings.secret_key or "")
    get_settings.cache_clear()
    try:
        yield path
    finally:
        get_settings.cache_clear()


def invoke(*args: str) -> str:
    result = CliRunner().invoke(cli, list(args))
    assert result.exit_code == 0, result.output
    return result.stdout


def test_scan_redact_and_harvest_again(transcript: Path) -> None:
    invoke("harvest", "-p", "claude-code")
    found = json.loads(invoke("secrets", "scan", "--json"))
    # in the first prompt, and in the title taken from it
    assert [(f["field"], f["seq"]) for f in found["findings"]] == [("title", None), ("content", 0)]
    assert {f["rule"] for f in found["findings"]} == {"anthropic_api_key"}
    table = invoke("secrets", "scan")
    assert "anthropic_api_key" in table and KEY not in table and KEY[12:30] not in table

    assert "Redacted 2 secrets" in invoke("secrets", "redact", "--yes")
    assert json.loads(invoke("secrets", "scan", "--json"))["total"] == 0

    with transcript.open("a") as f:  # the log grows: only the new lines are read
        f.write(line("u3", "user", f"and again {KEY}"))
    invoke("harvest", "-p", "claude-code")
    transcript.write_text(transcript.read_text().replace("Done.", "Done!"))  # rewritten: parsed anew
    invoke("harvest", "-p", "claude-code")

    assert json.loads(invoke("secrets", "scan", "--json"))["total"] == 0
    listed = json.loads(invoke("chats", "list", "--json"))["sessions"]
    shown = invoke("chats", "show", listed[0]["id"], "--json")
    assert KEY not in shown and shown.count("[REDACTED:anthropic_api_key]") == 3  # title and 2 prompts
