"""Sync through real servers on 127.0.0.1: S3 (moto in server mode) and WebDAV (wsgidav)."""

from __future__ import annotations

import socket
import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sync_helpers import installation, owner_actor

from chasm.sync import service
from chasm.sync.exceptions import SyncBackendUnreachable


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def s3() -> Iterator[tuple[Any, dict[str, Any], str]]:
    """A moto S3 server and a fresh bucket (moto keeps its buckets across servers of one process)."""
    from moto.server import ThreadedMotoServer

    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    options = {
        "endpoint_url": f"http://127.0.0.1:{port}",
        "key": "testing",
        "secret": "testing",
        "client_kwargs": {"region_name": "eu-west-1"},
        "config_kwargs": {"retries": {"max_attempts": 1}, "connect_timeout": 2, "read_timeout": 5},
    }
    import s3fs

    bucket = f"chasm-sync-{uuid.uuid4().hex[:8]}"
    s3fs.S3FileSystem(skip_instance_cache=True, **options).mkdir(bucket)
    yield server, options, f"s3://{bucket}/library"
    server.stop()


async def test_two_installations_converge_through_s3(
    tmp_path: Path, databases: Callable[[str], Any], s3: tuple[Any, dict[str, Any], str]
) -> None:
    _, options, location = s3
    async with (
        installation(tmp_path / "a", await databases("a"), "s3", location, options) as a,
        installation(tmp_path / "b", await databases("b"), "s3", location, options) as b,
    ):
        await a.chat("From A", "Hello from the first machine.")
        await b.chat("From B", "Hello from the second machine.")

        assert (await a.sync()).json()["uploaded"] == 1
        b_result = (await b.sync()).json()
        assert (b_result["uploaded"], b_result["downloaded"]) == (1, 1)
        assert (await a.sync()).json()["downloaded"] == 1
        assert (
            await a.library()
            == await b.library()
            == {
                "From A": ["Hello from the first machine."],
                "From B": ["Hello from the second machine."],
            }
        )


async def test_backend_gone_mid_way_leaves_the_library_as_it_was(
    tmp_path: Path, databases: Callable[[str], Any], s3: tuple[Any, dict[str, Any], str]
) -> None:
    server, options, location = s3
    async with (
        installation(tmp_path / "a", await databases("a"), "s3", location, options) as a,
        installation(tmp_path / "b", await databases("b"), "s3", location, options) as b,
    ):
        await b.chat("Remote change", "Waiting on the server.")
        await b.sync()
        await a.chat("Local change", "Not sent yet.")
        before = await a.library()

        def stop_at_upload(stage: str, done: int, total: int) -> None:
            if stage == "upload" and done == 0:
                server.stop()  # the backend disappears after the remote was read

        actor = await owner_actor(a.app)
        with pytest.raises(SyncBackendUnreachable):
            await service.sync(a.app.state.sessionmaker, a.app.state.settings, actor, stop_at_upload)

        assert await a.library() == before  # "Remote change" was read but not applied
        status = await a.client.post("/api/v1/sync")
        assert status.status_code == 502 and status.json()["code"] == "SYNC_BACKEND_UNREACHABLE"


@pytest.fixture
def webdav(tmp_path: Path) -> Iterator[str]:
    from cheroot import wsgi
    from wsgidav.wsgidav_app import WsgiDAVApp

    share = tmp_path / "dav"
    share.mkdir()
    app = WsgiDAVApp(
        {
            "host": "127.0.0.1",
            "port": 0,
            "provider_mapping": {"/": str(share)},
            "simple_dc": {"user_mapping": {"*": True}},
            "logging": {"enable": False},
            "verbose": 0,
        }
    )
    server = wsgi.Server(("127.0.0.1", 0), app)
    server.prepare()
    thread = threading.Thread(target=server.serve, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.bind_addr[1]}"
    server.stop()


async def test_two_installations_converge_through_webdav(
    tmp_path: Path, databases: Callable[[str], Any], webdav: str
) -> None:
    options = {"base_url": webdav}
    async with (
        installation(tmp_path / "a", await databases("a"), "webdav", "webdav://chasm", options) as a,
        installation(tmp_path / "b", await databases("b"), "webdav", "webdav://chasm", options) as b,
    ):
        await a.chat("Over WebDAV", "One.", "Two.")
        assert (await a.sync()).json()["uploaded"] == 1
        assert (await b.sync()).json()["downloaded"] == 1
        await b.say(await b.find("Over WebDAV"), "Three.")
        await b.sync()
        assert (await a.sync()).json()["downloaded"] == 1
        assert (await a.library())["Over WebDAV"] == ["One.", "Two.", "Three."]
