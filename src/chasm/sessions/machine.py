"""What a session's machine is given, and how it is kept: its network from the request (a proxy's
password split out of its URL), and its driver state sealed at rest (the environment encrypted
with the server secret)."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

from chasm.kit.crypto import Box
from chasm.sandbox.drivers.base import NetworkSpec
from chasm.sessions.exceptions import InvalidSessionRequest
from chasm.sessions.schemas import SessionCreate


def network_of(body: SessionCreate) -> tuple[NetworkSpec, dict[str, Any]]:
    net = body.network
    if net is None or net.mode == "none":
        if net is not None and net.proxy is not None:
            raise InvalidSessionRequest("network.proxy is only accepted with network.mode 'proxy'")
        return NetworkSpec(), {"mode": "none"}
    if net.mode == "proxy":
        if net.proxy is None or not net.proxy.url.strip():
            raise InvalidSessionRequest("network.mode 'proxy' needs network.proxy.url")
        url, username, password = split_credentials(net.proxy.url.strip())
        username, password = net.proxy.username or username, net.proxy.password or password
        spec = NetworkSpec("proxy", url, username, password)
        # Stored: the proxy without its password (the sandbox's environment carries it, sealed).
        return spec, {"mode": "proxy", "proxy": {"url": url, "username": username}}
    if net.proxy is not None:
        raise InvalidSessionRequest("network.proxy is only accepted with network.mode 'proxy'")
    return NetworkSpec("direct"), {"mode": "direct"}


def split_credentials(url: str) -> tuple[str, str | None, str | None]:
    """A proxy URL without its userinfo, and the user and password it carried."""
    parts = urlsplit(url if "://" in url else f"http://{url}")
    if parts.username is None and parts.password is None:
        return url, None, None
    host = parts.hostname or ""
    netloc = (f"[{host}]" if ":" in host else host) + (f":{parts.port}" if parts.port else "")
    bare = urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
    return bare, unquote(parts.username or "") or None, unquote(parts.password or "") or None


SEALED_ENV = "env_sealed"


def seal_state(secret_key: str, state: dict[str, Any]) -> dict[str, Any]:
    """Driver state as stored: the sandbox's environment (user `env`, a proxy password) encrypted
    with the server secret, so a database dump holds none of it in clear."""
    sealed = dict(state)
    env = sealed.pop("env", None)
    if env:
        sealed[SEALED_ENV] = Box(secret_key).encrypt(json.dumps(env))
    return sealed


def unseal_state(secret_key: str, state: dict[str, Any]) -> dict[str, Any]:
    """The driver state as the driver wrote it (for recovery after a restart)."""
    opened = dict(state)
    sealed = opened.pop(SEALED_ENV, None)
    if sealed:
        try:
            opened["env"] = json.loads(Box(secret_key).decrypt(sealed))
        except ValueError:
            opened["env"] = {}  # another server key: the sandbox keeps running, commands get no env
    return opened
