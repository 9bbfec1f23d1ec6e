"""Where a provider may point: an instance administrator anywhere (Ollama on 127.0.0.1 is the
common case); other users only at public addresses, or at networks the settings allow, so a
shared server cannot be made to probe its own private network through health checks."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from urllib.parse import urlsplit

from chasm.auth.actor import Actor
from chasm.kit.errors import BadRequest


class ProviderUrlRefused(BadRequest):
    code = "provider_url_refused"


def _allowed(address: str, networks: list[str]) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if any(ip in ipaddress.ip_network(n, strict=False) for n in networks):
        return True
    return ip.is_global and not ip.is_multicast


async def check(url: str, actor: Actor, networks: list[str]) -> str:
    """The URL without a trailing slash; ProviderUrlRefused when it is not http(s) or (for a user
    who is not an instance administrator) resolves to a private address."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ProviderUrlRefused(f"base_url must be an http(s) URL, got {url!r}")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise ProviderUrlRefused(f"base_url {url!r} has an invalid port") from exc
    if not actor.instance_admin:
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(
                parts.hostname, port, type=socket.SOCK_STREAM
            )
        except OSError as exc:
            raise ProviderUrlRefused(f"base_url's host {parts.hostname!r} does not resolve") from exc
        if not all(_allowed(str(info[4][0]), networks) for info in infos):
            raise ProviderUrlRefused(
                f"base_url's host {parts.hostname!r} is a private address; an instance administrator "
                "can allow its network (provider_allowed_networks)"
            )
    return url.rstrip("/")
