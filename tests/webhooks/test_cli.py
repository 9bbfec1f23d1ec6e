"""`chasm webhooks create|list|deliveries|replay` and `chasm billing summary` against a real server."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
from fastapi import FastAPI
from receiver import Receiver
from typer.testing import CliRunner
from webhook_helpers import emit_events, wait_until

from chasm.cli.main import app as cli
from sessions.fixtures import LiveServer, live  # noqa: F401


async def _cli(server: LiveServer, key: str, *args: str) -> Any:
    env = {"CHASM_URL": server.url, "CHASM_API_KEY": key}
    result = await asyncio.to_thread(CliRunner().invoke, cli, list(args), env=env)
    assert result.exit_code == 0, result.output
    return result.output


async def test_webhooks_and_billing_commands(
    app: FastAPI,
    live: LiveServer,  # noqa: F811
    admin_key: str,
    admin: httpx.AsyncClient,
    receiver: Receiver,  # noqa: F811
) -> None:
    out = await _cli(live, admin_key, "webhooks", "create", receiver.url, "--event", "job.*")
    secret = out.split("shown only this once): ")[1].strip()
    assert secret.startswith("whsec_")
    receiver.secret = secret
    assert receiver.url in await _cli(live, admin_key, "webhooks", "list")

    account_id = (await admin.get("/v1/billing/summary")).json()["account_id"]
    await emit_events(app, account_id, 1)
    await wait_until(lambda: len(receiver.delivered()) == 1)
    listed = await _cli(live, admin_key, "webhooks", "deliveries", "--json")
    delivery = json.loads(listed)["items"][0]
    out = await _cli(live, admin_key, "webhooks", "replay", delivery["id"])
    assert "pending" in out or "succeeded" in out
    await wait_until(lambda: len(receiver.delivered()) == 2)
    assert receiver.delivered()[1].webhook_id == receiver.delivered()[0].webhook_id

    out = await _cli(live, admin_key, "billing", "summary")
    assert "plan:      local (unlimited)" in out
