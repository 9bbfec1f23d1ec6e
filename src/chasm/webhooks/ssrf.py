"""Where a webhook may be sent: only to public addresses, checked when the endpoint is created and
again before every attempt (a DNS answer can change in between), and the attempt connects to the
very address that was checked."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from chasm.webhooks.exceptions import WebhookUrlRefused

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Awaitable[list[str]]]


async def system_resolver(host: str, port: int) -> list[str]:
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


# Replaced in tests by a resolver whose answers they choose.
resolver: Resolver = system_resolver


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str
    port: int
    address: IPAddress  # checked: the attempt connects here


def address_allowed(address: IPAddress, allowed: list[str]) -> bool:
    """Public unicast addresses, plus the networks the settings allow. Loopback, private,
    link-local (cloud metadata at 169.254.169.254), shared, reserved and multicast are refused."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    for network in allowed:
        if address in ipaddress.ip_network(network, strict=False):
            return True
    return address.is_global and not address.is_multicast


def parse(url: str) -> tuple[str, str, int]:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise WebhookUrlRefused(f"{url!r} is not an http(s) URL")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise WebhookUrlRefused(f"{url!r} has an invalid port") from exc
    return parts.scheme, parts.hostname, port


async def check(url: str, allowed: list[str]) -> Target:
    """The address to send to; `WebhookUrlRefused` for a URL that resolves nowhere or anywhere
    private (every answer must be public: one private answer refuses the host)."""
    scheme, host, port = parse(url)
    try:
        literal: IPAddress | None = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    if literal is not None:
        addresses = [literal]
    else:
        try:
            answers = await resolver(host, port)
        except OSError as exc:
            raise WebhookUrlRefused(
                f"{host} does not resolve: {exc}", code="webhook_url_unresolvable"
            ) from exc
        addresses = [ipaddress.ip_address(a.split("%", 1)[0]) for a in answers]
        if not addresses:
            raise WebhookUrlRefused(f"{host} does not resolve", code="webhook_url_unresolvable")
    for address in addresses:
        if not address_allowed(address, allowed):
            raise WebhookUrlRefused(
                f"{host} resolves to {address}, a loopback, private, link-local or reserved address"
            )
    return Target(scheme, host, port, addresses[0])
