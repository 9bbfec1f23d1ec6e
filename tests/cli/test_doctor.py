"""`chasm doctor`: a table (or JSON) of host checks, each failing one with its fix, and an exit code."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from chasm.cli.main import app
from chasm.config import Settings, get_settings
from chasm.kit.db import create_engine, migrate


def _doctor(monkeypatch: pytest.MonkeyPatch, data_dir: Path, *args: str, **env: str) -> tuple[int, str]:
    monkeypatch.setenv("CHASM_DATA_DIR", str(data_dir))
    monkeypatch.delenv("CHASM_DATABASE_URL", raising=False)
    monkeypatch.delenv("CHASM_REDIS_URL", raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    result = CliRunner().invoke(app, ["doctor", *args])
    get_settings.cache_clear()
    return result.exit_code, result.output


def _checks(output: str) -> dict[str, dict[str, object]]:
    return {c["name"]: c for c in json.loads(output)["checks"]}


def test_fresh_install_needs_its_migrations(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    code, output = _doctor(monkeypatch, tmp_path / "data", "--json", CHASM_SANDBOX_DRIVER="tests:Fake")
    checks = _checks(output)
    assert code == 1
    assert checks["data dir writable"]["status"] == "ok"
    assert checks["database reachable (sqlite)"]["status"] == "ok"
    assert checks["migrations current"]["status"] == "fail"
    assert "chasm api serve" in str(checks["migrations current"]["fix"])
    # Without the bubblewrap driver, sandbox tooling is optional: it can warn but never fail.
    assert checks["bubblewrap"]["required"] is False
    assert checks["bubblewrap"]["status"] in ("ok", "warn")


def test_migrated_install_passes_and_prints_a_table(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    data_dir = tmp_path / "data"

    async def upgrade() -> None:
        engine = create_engine(Settings(data_dir=data_dir).effective_database_url)
        await migrate(engine)
        await engine.dispose()

    asyncio.run(upgrade())
    code, output = _doctor(monkeypatch, data_dir, CHASM_SANDBOX_DRIVER="tests:Fake")
    assert code == 0, output
    assert "migrations current" in output and "at every head" in output
    assert "All required checks pass." in output


def test_unreachable_redis_fails_with_its_fix(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    code, output = _doctor(
        monkeypatch,
        tmp_path / "data",
        "--json",
        CHASM_REDIS_URL="redis://127.0.0.1:1/0",
        CHASM_SANDBOX_DRIVER="x:Y",
    )
    redis = _checks(output)["redis reachable"]
    assert code == 1
    assert redis["status"] == "fail"
    assert "redis-server" in str(redis["fix"])


def test_bubblewrap_is_required_for_the_bubblewrap_driver(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    code, output = _doctor(monkeypatch, tmp_path / "data", "--json", CHASM_SANDBOX_DRIVER="bubblewrap")
    checks = _checks(output)
    assert checks["bubblewrap"]["required"] is True
    assert checks["user namespaces"]["required"] is True
    assert checks["bubblewrap"]["fix"] == "apt-get install -y bubblewrap"
    assert checks["seccomp"]["required"] is True and checks["seccomp"]["status"] == "ok"
