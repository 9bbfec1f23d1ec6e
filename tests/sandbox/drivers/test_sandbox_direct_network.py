"""network.mode=direct: the sandbox reaches other addresses, never the host's own.

slirp4netns connects from the host's network stack, so every service the host exposes on a
non-loopback address would answer a sandbox; the driver prohibits the host's addresses with
policy-routing rules inside the sandbox's namespace. Nothing here goes to the internet: the
"outside" is a network namespace behind a veth pair, made for the test.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from hostservice import secret_server

from chasm.sandbox.drivers.base import NetworkSpec, SandboxInfo
from chasm.sandbox.drivers.bubblewrap import BubblewrapDriver
from chasm.sandbox.drivers.netns import HOST_PATH, socket_in_netns

StartSandbox = Callable[..., Awaitable[SandboxInfo]]

pytestmark = pytest.mark.sandbox

# Each target: [kind, host, port, device]. "udp" only connects (a route lookup, no packet sent);
# a device binds the socket to it (SO_BINDTODEVICE), which skips the policy rules: the kernel
# then assumes the destination is on the link and asks for its MAC address there.
PROBE = """
import errno, json, socket, sys
out = []
for kind, host, port, dev in json.loads(sys.argv[1]):
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    s = socket.socket(family, socket.SOCK_STREAM if kind == "tcp" else socket.SOCK_DGRAM)
    s.settimeout(30)
    if dev:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, dev.encode())
    code = s.connect_ex((host, port))
    data = s.recv(100).decode() if code == 0 and kind == "tcp" else ""
    out.append(errno.errorcode.get(code, str(code)) if code else ("ok " + data).strip())
print(json.dumps(out))
"""


def _ip(*args: str) -> Any:
    ip = shutil.which("ip", path=HOST_PATH)
    assert ip is not None
    result = subprocess.run([ip, "-j", *args], capture_output=True, text=True, check=True)
    return json.loads(result.stdout or "[]")


def host_address(family: str) -> str | None:
    """A global address of a host interface (not loopback), or None."""
    for link in _ip(family, "address", "show"):
        if "LOOPBACK" in link.get("flags", []):
            continue
        for info in link.get("addr_info", []):
            if info.get("scope") == "global" and not info["local"].startswith("198.18."):
                return str(info["local"])
    return None


@pytest.fixture
async def host_listener() -> AsyncIterator[int]:
    """A TCP service on every host address (0.0.0.0), as PostgreSQL or Redis might be."""
    async with secret_server("0.0.0.0") as port:
        yield port


@pytest.fixture
async def outside() -> AsyncIterator[tuple[str, str, int]]:
    """A network namespace behind a veth pair, standing in for the outside world: yields (host
    side address, far side address, port of a TCP service on the far side)."""
    if os.geteuid() != 0 or shutil.which("ip", path=HOST_PATH) is None:
        pytest.skip("needs root and ip to build a veth pair")
    holder = subprocess.Popen(
        ["unshare", "--net", "sh", "-c", "echo ready; exec sleep infinity"],
        stdout=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
    )
    n = os.getpid() % 16000  # one /30 of 198.18.0.0/15 (benchmarking range) per test process
    near = f"198.{18 + n // 8192}.{n % 8192 // 64}.{n % 64 * 4 + 1}"
    far = near[: near.rfind(".") + 1] + str(n % 64 * 4 + 2)
    link = f"chv{os.getpid()}"[:15]
    try:
        assert holder.stdout is not None and holder.stdout.readline() == b"ready\n"
        pid = str(holder.pid)
        script = (
            f"ip link add {link} type veth peer name eth0 netns {pid} && "
            f"ip address add {near}/30 dev {link} && ip link set {link} up && "
            f"nsenter -t {pid} -n sh -c 'ip address add {far}/30 dev eth0 && ip link set eth0 up'"
        )
        subprocess.run(["sh", "-c", script], check=True, env={"PATH": HOST_PATH})

        async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            writer.write(b"outside\n")
            writer.close()

        sock = socket_in_netns(holder.pid)
        sock.bind((far, 0))
        sock.listen(8)
        server = await asyncio.start_server(answer, sock=sock)
        yield near, far, sock.getsockname()[1]
        server.close()
        await server.wait_closed()
    finally:
        holder.kill()  # its namespace goes, and the veth pair with it
        holder.wait()
        holder.stdout.close()
        subprocess.run(["ip", "link", "del", link], capture_output=True, env={"PATH": HOST_PATH})


async def probe(driver: BubblewrapDriver, targets: list[list[Any]]) -> list[str]:
    result = await driver.exec("s1", f"python3 /workspace/probe.py '{json.dumps(targets)}'")
    assert result.exit_code == 0, result.output
    return list(json.loads(result.output))


async def test_direct_network_cannot_reach_the_hosts_addresses(
    driver: BubblewrapDriver,
    start: StartSandbox,
    host_listener: int,
    outside: tuple[str, str, int],
):
    address = host_address("-4")
    if address is None:
        pytest.skip("the host has no global IPv4 address")
    near, far, far_port = outside
    await start("s1", network=NetworkSpec(mode="direct"))
    await driver.write_file("s1", "/workspace/probe.py", PROBE.encode())
    blocked = [
        ["tcp", address, host_listener, ""],
        ["tcp", near, host_listener, ""],  # an address the host had when the sandbox started
        ["tcp", "10.0.2.2", host_listener, ""],  # slirp4netns's gateway: the host's loopback
        ["tcp", "10.0.2.3", host_listener, ""],  # the DNS forwarder, other than port 53
        ["udp", address, 53, ""],
        ["udp", "10.0.2.3", 54, ""],
    ]
    address6 = host_address("-6")
    if address6 is not None:
        blocked.append(["tcp", address6, host_listener, ""])
    allowed = [
        ["tcp", far, far_port, ""],  # the outside, through slirp4netns and the host's stack
        ["udp", "10.0.2.3", 53, ""],  # DNS
        ["udp", "198.51.100.7", 9, ""],  # any other address has its route out
    ]
    host_before = await probe(driver, blocked)
    assert all(not outcome.startswith("ok") for outcome in host_before), host_before
    assert await probe(driver, allowed) == ["ok outside", "ok", "ok"]
    # Bound to tap0, a socket skips the rules; slirp4netns answers ARP only for its own
    # addresses, so the host's address stays unresolved there.
    assert (await probe(driver, [["tcp", address, host_listener, "tap0"]]))[0] == "EHOSTUNREACH"

    # The sandbox user cannot remove the rules, not even from a user namespace of its own.
    attack = await driver.exec(
        "s1",
        "ip rule flush; ip rule del pref 101; ip -6 rule del pref 101; unshare -Ur ip rule flush; "
        "unshare -Urn true && echo own-netns-only; ip rule",
    )
    assert "Operation not permitted" in attack.output
    assert f"to {address} prohibit" in attack.output
    assert await probe(driver, blocked) == host_before
    assert (await probe(driver, allowed))[0] == "ok outside"
