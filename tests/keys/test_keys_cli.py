from __future__ import annotations

import asyncio
from collections.abc import Iterator

import httpx
import pytest
from fastapi import FastAPI
from typer.testing import CliRunner

from auth.idhelpers import client_for
from chasm.cli.main import app as cli
from chasm.config import Settings, get_settings


@pytest.fixture
def cli_env(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Point the CLI's settings (read from the environment) at the test database and secret."""
    monkeypatch.setenv("CHASM_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("CHASM_SECRET_KEY", str(settings.secret_key))
    monkeypatch.setenv("CHASM_DATABASE_URL", str(settings.database_url))
    if settings.database_schema:
        monkeypatch.setenv("CHASM_DATABASE_SCHEMA", settings.database_schema)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


async def _run(*args: str) -> tuple[int, str, str]:
    result = await asyncio.to_thread(CliRunner().invoke, cli, list(args))
    return result.exit_code, result.stdout, result.stderr


async def test_cli_creates_a_key_the_server_accepts(
    app: FastAPI, admin: httpx.AsyncClient, cli_env: None
) -> None:
    code, out, err = await _run(
        "keys", "create", "--name", "from-cli", "--scope", "keys.read", "--scope", "audit.read"
    )
    assert code == 0, err
    secret = out.strip()
    assert secret.startswith("sk_")
    assert "shown only now" in err

    async with client_for(app, secret) as c:
        keys = (await c.get("/v1/keys")).json()["items"]
        assert (await c.post("/v1/keys", json={"name": "x"})).status_code == 403
    assert any(k["name"] == "from-cli" and k["scopes"] == ["audit.read", "keys.read"] for k in keys)
    events = (await admin.get("/v1/audit/events", params={"action": "api_key.create"})).json()["items"]
    assert events[0]["summary"] == "from-cli"

    code, out, _ = await _run("keys", "list")
    assert code == 0
    assert "from-cli" in out and "bootstrap admin key" in out
    assert secret not in out


async def test_cli_errors_are_clear(app: FastAPI, cli_env: None) -> None:
    code, _, err = await _run("keys", "create", "--name", "x", "--email", "nobody@example.com")
    assert code != 0
    assert "no user with email nobody@example.com" in err
    code, _, err = await _run("keys", "create", "--name", "x", "--account", "No Such Org")
    assert code == 1
    assert "not found" in err
    code, _, err = await _run("keys", "create", "--name", "x", "--scope", "root")
    assert code == 1
    assert "Unknown scope" in err


async def test_cli_on_a_fresh_database_creates_the_local_owner(settings: Settings, cli_env: None) -> None:
    from chasm.app import create_app

    code, out, err = await _run("keys", "create", "--name", "first")
    assert code == 0, err
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        # The owner exists already, so the server mints no bootstrap key of its own.
        assert getattr(application.state, "bootstrap_key", None) is None
        async with client_for(application, out.strip()) as c:
            me = (await c.get("/auth/me")).json()
    assert me["user"]["email"] == "owner@localhost"


async def test_an_organisation_the_owner_made_is_reachable(
    app: FastAPI, admin: httpx.AsyncClient, cli_env: None
) -> None:
    created = await admin.post("/v1/accounts/organizations", json={"name": "Acme"})
    assert created.status_code == 201, created.text
    refused = await admin.get("/v1/workspaces", headers={"X-Chaser-Account": "Acme"})
    assert refused.status_code == 403
    assert "chasm keys create --account 'Acme'" in refused.json()["error"]["message"]

    code, out, err = await _run("keys", "create", "--name", "acme-key", "--account", "Acme")
    assert code == 0, err
    async with client_for(app, out.strip()) as c:
        assert (await c.get("/v1/accounts/current")).json()["name"] == "Acme"
    code, out, _ = await _run("keys", "list")
    assert code == 0
    assert "account Acme" in out and "account owner@localhost" in out
