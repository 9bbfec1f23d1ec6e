"""`Chasm`: the synchronous client."""

from __future__ import annotations

from typing import Any

import httpx

from chasm.client._base import DEFAULT_TIMEOUT, SyncTransport, body
from chasm.client.chats import Chats
from chasm.client.commands import exec_body, result_of
from chasm.client.models import CommandResult
from chasm.client.platform import Billing, Jobs, Keys, Webhooks
from chasm.client.sandboxes import Browsers, Network, Sandboxes, Sessions, network_body
from chasm.client.workspaces import Workspaces


def auto_exec_body(
    command: str,
    workspace: str | None,
    ephemeral: bool | None,
    image: str | None,
    network: Network,
    options: dict[str, Any],
) -> dict[str, Any]:
    return exec_body(
        command,
        cwd=options.get("cwd"),
        env=options.get("env"),
        timeout=options.get("timeout"),
        background=False,
        **body(workspace=workspace, ephemeral=ephemeral, image=image, network=network_body(network)),
    )


class Chasm:
    """A client of one Chasm server. `base_url` and `api_key` default to CHASM_URL and
    CHASM_API_KEY (the CLI's variables), `account` (X-Chaser-Account) to CHASM_ACCOUNT."""

    def __init__(
        self,
        base_url: str | None = None,
        api_key: str | None = None,
        *,
        account: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._t = SyncTransport(base_url, api_key, account, timeout, transport)
        self.base_url = self._t.base_url
        self.sessions = Sessions(self._t)
        self.sandboxes = Sandboxes(self._t, self.sessions)
        self.browsers = Browsers(self._t, self.sessions)
        self.workspaces = Workspaces(self._t)
        self.jobs = Jobs(self._t)
        self.keys = Keys(self._t)
        self.webhooks = Webhooks(self._t)
        self.billing = Billing(self._t)
        self.chats = Chats(self._t)

    def run(
        self,
        command: str,
        *,
        workspace: str | None = None,
        ephemeral: bool | None = None,
        image: str | None = None,
        network: Network = None,
        cwd: str | None = None,
        env: dict[str, str] | None = None,
        timeout: float | None = None,
    ) -> CommandResult:
        """Run one command without managing a session: in `workspace`'s session (started if
        needed) or in a new ephemeral sandbox that ends with the command."""
        options = {"cwd": cwd, "env": env, "timeout": timeout}
        payload = auto_exec_body(command, workspace, ephemeral, image, network, options)
        return result_of(self._t.request("POST", "/v1/exec", json=payload))

    def close(self) -> None:
        self._t.close()

    def __enter__(self) -> Chasm:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
