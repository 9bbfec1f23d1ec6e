"""The async client against a real server and one real sandbox shared by the module."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from chasm.client import Conflict, NotFound
from chasm.client.aio import AsyncChasm, AsyncSandbox
from chasm.client.sync import Chasm
from client.conftest import ServerThread

pytestmark = pytest.mark.sandbox


@pytest.fixture(scope="module")
def sandbox_id(live_server: ServerThread) -> Iterator[str]:
    """Made once by the sync client (a module-scoped fixture has no event loop to await in)."""
    with Chasm(live_server.url, live_server.key) as client, client.sandboxes.create() as box:
        yield box.id


@pytest.fixture
async def client(live_server: ServerThread) -> AsyncIterator[AsyncChasm]:
    async with AsyncChasm(live_server.url, live_server.key) as c:
        yield c


@pytest.fixture
async def sandbox(client: AsyncChasm, sandbox_id: str) -> AsyncSandbox:
    return await client.sandboxes.get(sandbox_id)


async def test_commands(sandbox: AsyncSandbox) -> None:
    result = await sandbox.commands.run("echo out; echo err >&2; exit 2")
    assert (result.exit_code, result.output) == (2, "out\nerr\n")
    handle = await sandbox.commands.run("echo a; echo b >&2; echo c", background=True)
    streams = [(chunk.stream, chunk.data) async for chunk in handle]
    assert streams[-1][0] == "exit"
    assert "".join(data for stream, data in streams if stream == "stdout") == "a\nc\n"
    lines = [line async for line in handle.lines()]  # stdout and stderr are two pipes: no order between
    assert [text for stream, text in lines if stream == "stdout"] == ["a", "c"]
    assert [text for stream, text in lines if stream == "stderr"] == ["b"]
    waited = await handle.wait()
    assert (waited.exit_code, waited.stdout, waited.stderr) == (0, "a\nc\n", "b\n")


async def test_stdin_and_kill(sandbox: AsyncSandbox) -> None:
    upper = await sandbox.commands.run("tr a-z A-Z", background=True)
    await upper.send_stdin("quiet\n", eof=True)
    assert (await upper.wait()).stdout == "QUIET\n"
    sleeper = await sandbox.commands.run("sleep 60", background=True)
    assert (await sleeper.info()).status == "running"
    await sleeper.kill()
    assert (await sleeper.wait()).status == "killed"
    with pytest.raises(Conflict):
        await sleeper.send_stdin("late")


async def test_files(sandbox: AsyncSandbox) -> None:
    await sandbox.files.write("async/data.txt", b"bytes\n")
    assert await sandbox.files.read("async/data.txt") == "bytes\n"
    assert [(e.name, e.type) for e in await sandbox.files.list("async")] == [("data.txt", "file")]
    await sandbox.files.remove("async/data.txt")
    assert await sandbox.files.list("async") == []
    with pytest.raises(NotFound):
        await sandbox.files.read_bytes("async/data.txt")


async def test_pty_echo(sandbox: AsyncSandbox) -> None:
    async with await sandbox.pty.connect() as terminal:
        await terminal.send("echo as''ync-pty\n")
        assert b"async-pty" in await terminal.read_until("async-pty")
        await terminal.send("exit 3\n")
        rest = [chunk async for chunk in terminal]
    assert terminal.exit_code == 3 and isinstance(rest, list)


async def test_create_list_terminate(client: AsyncChasm) -> None:
    async with await client.sandboxes.create() as box:
        assert box.id in [s.id for s in await client.sandboxes.list(status="running")]
        assert box.id in [s.id async for s in client.sandboxes.iter()]
        assert (await client.run("echo via-exec")).output == "via-exec\n"
    assert (await box.refresh()).status == "terminated"
    with pytest.raises(Conflict) as ended:
        await box.commands.run("true")
    assert ended.value.code == "session_not_running"
