"""Sockets inside a sandbox's network namespace: port forwarding and the proxy relay.

A socket belongs to the network namespace it was created in, so a thread switches into the
sandbox's namespace (setns), creates the socket and switches back; the event loop then uses it
like any other socket. Only the creating thread ever changes namespace.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import ipaddress
import os
import shutil
import socket
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

from chasm.sandbox.drivers.base import SandboxError
from chasm.sandbox.drivers.process import read_line, starttime

CLONE_NEWNET = 0x40000000
HOST_PATH = "/usr/sbin:/usr/bin:/sbin:/bin"
START_TIMEOUT_S = 10.0
_libc = ctypes.CDLL(None, use_errno=True)


def _setns(fd: int) -> None:
    if _libc.setns(fd, CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))


def socket_in_netns(
    ns_pid: int, family: int = socket.AF_INET, kind: int = socket.SOCK_STREAM
) -> socket.socket:
    """A non-blocking socket created in the network namespace of `ns_pid` (TCP by default).

    Fast and synchronous (two setns calls): the calling thread is back in its own namespace
    before anything else runs on it."""
    own = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    try:
        target = os.open(f"/proc/{ns_pid}/ns/net", os.O_RDONLY)
    except OSError:
        os.close(own)
        raise
    try:
        _setns(target)
        try:
            sock = socket.socket(family, kind)
        finally:
            _setns(own)
    finally:
        os.close(target)
        os.close(own)
    sock.setblocking(False)
    return sock


async def connect_in_netns(ns_pid: int, port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    sock = await asyncio.to_thread(socket_in_netns, ns_pid)
    try:
        await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", port))
    except OSError:
        sock.close()
        raise
    return await asyncio.open_connection(sock=sock)


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, asyncio.IncompleteReadError):
        pass
    finally:
        with contextlib.suppress(Exception):
            writer.close()


class ProxyRelay:
    """Listens on 127.0.0.1:`port` inside the sandbox and relays each connection to the proxy.

    The sandbox has no other network than its own loopback, so the proxy is the only
    destination it can reach; HTTP(S)_PROXY point programs at this relay.
    """

    def __init__(self, ns_pid: int, port: int, proxy_url: str) -> None:
        parts = urlsplit(proxy_url if "://" in proxy_url else f"http://{proxy_url}")
        if not parts.hostname:
            raise ValueError(f"invalid proxy URL: {proxy_url!r}")
        self.ns_pid = ns_pid
        self.port = port
        self.upstream = (parts.hostname, parts.port or (443 if parts.scheme == "https" else 80))
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    def _listening_socket(self) -> socket.socket:
        sock = socket_in_netns(self.ns_pid)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", self.port))
        sock.listen(128)
        return sock

    async def start(self) -> None:
        sock = await asyncio.to_thread(self._listening_socket)
        self._server = await asyncio.start_server(self._handle, sock=sock)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.upstream)
        except OSError:
            writer.close()
            return
        for task in (
            asyncio.create_task(_pipe(reader, up_writer)),
            asyncio.create_task(_pipe(up_reader, writer)),
        ):
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        for task in list(self._tasks):
            task.cancel()


async def start_slirp(
    ns_pid: int, prelude: str, log_path: Path, is_root: bool
) -> tuple[subprocess.Popen[bytes], str | None]:
    """Attach slirp4netns to the namespace of `ns_pid` (tap0, 10.0.2.100); return its process (the
    caller reaps it when the sandbox stops) and start time. `prelude` (host shell lines) puts it in
    the sandbox's cgroups first."""
    slirp = shutil.which("slirp4netns", path=HOST_PATH)
    if slirp is None:
        raise SandboxError("network.mode=direct needs slirp4netns on the host")
    ready_r, ready_w = os.pipe()
    # As root slirp4netns enters the namespace directly, then confines itself (own mount
    # namespace, every capability dropped but binding low ports, seccomp).
    args = [slirp, "--configure", "--mtu=65520", "--disable-host-loopback", f"--ready-fd={ready_w}"]
    if is_root:
        args += ["--enable-sandbox", "--enable-seccomp"]
    else:
        args.append(f"--userns-path=/proc/{ns_pid}/ns/user")
    args += ["--netns-type=path", f"/proc/{ns_pid}/ns/net", "tap0"]
    with open(log_path, "wb") as log:
        try:
            proc = subprocess.Popen(
                ["/bin/sh", "-c", prelude + 'exec "$@"\n', "chasm-net", *args],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                pass_fds=(ready_w,),
                env={"PATH": HOST_PATH},
                start_new_session=True,
            )
        finally:
            os.close(ready_w)
    try:
        ready = await asyncio.wait_for(read_line(ready_r, size=1), START_TIMEOUT_S)
    except TimeoutError:
        ready = b""
    finally:
        os.close(ready_r)
    if ready != b"1":
        proc.kill()
        proc.wait()
        log_text = log_path.read_text(errors="replace").strip()
        raise OSError(f"slirp4netns did not start: {log_text or 'no output'}")
    return proc, starttime(proc.pid)


# slirp4netns's virtual network: the gateway (the host, whose loopback --disable-host-loopback
# already refuses) and the DNS forwarder, which serves port 53 only.
SLIRP_GATEWAY = "10.0.2.2"
SLIRP_DNS = "10.0.2.3"
# Policy-routing rules sit between "lookup local" (0: the sandbox's own addresses, 127/8) and
# "lookup main" (32766: tap0 and the default route through slirp4netns).
ALLOW_PREF = 100
BLOCK_PREF = 101
RTF_LOCAL = 0x80000000


def host_local_networks() -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    """Every address the host accepts as its own: the local routes of its network namespace
    (interface addresses and local ranges such as 127.0.0.0/8), IPv4 and IPv6."""
    networks: set[ipaddress.IPv4Network | ipaddress.IPv6Network] = set()
    with contextlib.suppress(OSError):
        address = ""
        for line in Path("/proc/net/fib_trie").read_text().splitlines():
            words = line.split()
            if len(words) == 2 and words[0] == "|--":
                address = words[1]
            elif len(words) == 3 and words[1:] == ["host", "LOCAL"] and address:
                networks.add(ipaddress.IPv4Network(f"{address}{words[0]}", strict=False))
    with contextlib.suppress(OSError):
        for line in Path("/proc/net/ipv6_route").read_text().splitlines():
            fields = line.split()
            if len(fields) >= 10 and int(fields[8], 16) & RTF_LOCAL:
                prefix = ipaddress.IPv6Address(int(fields[0], 16))
                networks.add(ipaddress.IPv6Network(f"{prefix}/{int(fields[1], 16)}", strict=False))
    return sorted(networks, key=lambda n: (n.version, n))


def block_rules(
    networks: list[ipaddress.IPv4Network | ipaddress.IPv6Network], dns: bool = True
) -> tuple[str, str]:
    """`ip -batch` input (IPv4, IPv6) for a direct-mode namespace: prohibit every host address
    and slirp4netns's gateway, and its DNS forwarder except port 53."""
    v4 = []
    if dns:
        for proto in ("udp", "tcp"):
            v4.append(f"rule add pref {ALLOW_PREF} to {SLIRP_DNS}/32 ipproto {proto} dport 53 lookup main")
    v4 += [f"rule add pref {BLOCK_PREF} to {SLIRP_GATEWAY}/32 prohibit"]
    v4 += [f"rule add pref {BLOCK_PREF} to {SLIRP_DNS}/32 prohibit"]
    v6: list[str] = []
    for network in networks:
        (v4 if network.version == 4 else v6).append(f"rule add pref {BLOCK_PREF} to {network} prohibit")
    return "".join(line + "\n" for line in v4), "".join(line + "\n" for line in v6)


async def block_host(ns_pid: int, is_root: bool) -> None:
    """Make the host's own addresses unreachable from the namespace of `ns_pid`.

    slirp4netns connects from the host's network stack, so without this a sandbox reaches every
    service the host exposes on a non-loopback address. The rules are added by a process with
    CAP_NET_ADMIN over the namespace (root, or the owner of the sandbox's user namespace); the
    sandbox user has no capability there and cannot remove them."""
    ip = shutil.which("ip", path=HOST_PATH)
    nsenter = shutil.which("nsenter", path=HOST_PATH)
    if ip is None or nsenter is None:
        raise SandboxError("network.mode=direct needs ip (iproute2) and nsenter on the host")
    v4, v6 = block_rules(host_local_networks())
    enter = [nsenter, f"--net=/proc/{ns_pid}/ns/net"]
    if not is_root:
        enter += [f"--user=/proc/{ns_pid}/ns/user", "--preserve-credentials"]
    script = 'printf %s "$1" | "$0" -4 -batch - && { [ -z "$2" ] || printf %s "$2" | "$0" -6 -batch -; }'
    proc = await asyncio.create_subprocess_exec(
        *enter,
        "/bin/sh",
        "-c",
        script,
        ip,
        v4,
        v6,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env={"PATH": HOST_PATH},
    )
    output, _ = await proc.communicate()
    if proc.returncode != 0:
        raise OSError(f"could not block the host's addresses: {output.decode(errors='replace').strip()}")
