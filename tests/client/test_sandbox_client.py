"""The sync client against a real server and one real sandbox shared by the module: foreground
and background commands (streamed output, stdin, kill), files, the PTY, and what a terminated
sandbox answers."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from chasm.client import ChasmAPIError, Conflict, NotFound, ValidationError
from chasm.client.sandboxes import Sandbox
from chasm.client.sync import Chasm
from client.conftest import ServerThread

pytestmark = pytest.mark.sandbox


@pytest.fixture(scope="module")
def client(live_server: ServerThread) -> Iterator[Chasm]:
    with Chasm(live_server.url, live_server.key) as c:
        yield c


@pytest.fixture(scope="module")
def sandbox(client: Chasm) -> Iterator[Sandbox]:
    with client.sandboxes.create() as box:
        yield box


def test_foreground_command(sandbox: Sandbox) -> None:
    result = sandbox.commands.run("echo out; echo err >&2; pwd; exit 3")
    assert result.exit_code == 3 and not result.ok
    assert result.output == "out\nerr\n/workspace\n"
    assert result.stdout is None  # a foreground exec answers one interleaved output
    assert sandbox.commands.run("echo $GREETING", env={"GREETING": "hi"}, cwd="/tmp").output == "hi\n"
    slow = sandbox.commands.run("sleep 5", timeout=0.3)
    assert slow.timed_out and slow.exit_code is None


def test_background_output_streams_apart(sandbox: Sandbox) -> None:
    handle = sandbox.commands.run("for i in 1 2 3; do echo n$i; done; echo oops >&2; exit 4", background=True)
    chunks = list(handle)
    assert chunks[-1].is_exit and chunks[-1].exit_code == 4
    assert "".join(c.data for c in chunks if c.stream == "stdout") == "n1\nn2\nn3\n"
    assert [c.data for c in chunks if c.stream == "stderr"] == ["oops\n"]
    # The whole output is kept: a second reader, and one resuming from an offset, get it again.
    lines = list(handle.lines())  # stdout and stderr are two pipes: no order between them
    assert [text for stream, text in lines if stream == "stdout"] == ["n1", "n2", "n3"]
    assert [text for stream, text in lines if stream == "stderr"] == ["oops"]
    resumed = "".join(c.data for c in handle.stream(offset=chunks[0].end))
    assert resumed == "".join(c.data for c in chunks[1:])
    result = handle.wait()
    assert (result.exit_code, result.stdout, result.stderr) == (4, "n1\nn2\nn3\n", "oops\n")
    assert handle.info().status == "exited"
    assert handle.id in [c.id for c in sandbox.commands.list()]


def test_stdin_and_kill(sandbox: Sandbox) -> None:
    cat = sandbox.commands.run("tr a-z A-Z", background=True)
    cat.send_stdin("hello\n")
    cat.close_stdin()
    seen: list[str] = []
    assert cat.wait(on_stdout=seen.append).stdout == "HELLO\n"
    assert "".join(seen) == "HELLO\n"
    with pytest.raises(Conflict) as ended:
        cat.send_stdin("more")
    assert ended.value.code == "command_ended"

    sleeper = sandbox.commands.run("sleep 60", background=True)
    assert sandbox.commands.connect(sleeper.id).pid == sleeper.pid
    sleeper.kill("KILL")
    killed = sleeper.wait()
    assert killed.status == "killed" and killed.exit_code != 0
    with pytest.raises(ValidationError) as bad:
        sleeper.kill("NOPE")
    assert bad.value.status_code == 400


def test_files(sandbox: Sandbox, tmp_path) -> None:  # type: ignore[no-untyped-def]
    assert sandbox.files.write("docs/note.txt", "héllo").path == "/workspace/docs/note.txt"
    local = tmp_path / "blob.bin"
    local.write_bytes(bytes(range(256)))
    assert sandbox.files.write("/tmp/blob.bin", local).size == 256
    assert sandbox.files.read("docs/note.txt") == "héllo"
    assert sandbox.files.read_bytes("/tmp/blob.bin") == bytes(range(256))
    sandbox.commands.run("mkdir -p docs/sub && ln -s note.txt docs/link && touch 'docs/two words'")
    entries = {e.name: e for e in sandbox.files.list("docs")}
    assert set(entries) == {"note.txt", "sub", "link", "two words"}
    assert (entries["note.txt"].type, entries["note.txt"].size) == ("file", len("héllo".encode()))
    assert entries["sub"].type == "dir" and entries["link"].type == "symlink"
    assert entries["two words"].path == "/workspace/docs/two words"
    sandbox.files.remove("docs")
    assert "docs" not in [e.name for e in sandbox.files.list()]
    with pytest.raises(NotFound) as missing:
        sandbox.files.read("docs/note.txt")
    assert missing.value.code == "file_not_found"
    with pytest.raises(NotFound):
        sandbox.files.list("docs")
    with pytest.raises(NotFound):
        sandbox.files.remove("docs")
    with pytest.raises(ValidationError) as outside:
        sandbox.files.write("/etc/passwd", "x")
    assert outside.value.code == "path_not_allowed"


def test_pty_echo(sandbox: Sandbox) -> None:
    with sandbox.pty.connect(cols=100, rows=30) as terminal:
        terminal.send("echo hel''lo-pty\n")
        assert b"hello-pty" in terminal.read_until("hello-pty")
        terminal.resize(120, 40)
        terminal.send("stty size; exit 7\n")
        output = b"".join(terminal)
    assert b"40 120" in output
    assert terminal.exit_code == 7


def test_listing_and_auto_exec(client: Chasm, sandbox: Sandbox) -> None:
    assert sandbox.id in [s.id for s in client.sandboxes.list(status="running")]
    assert sandbox.id in [s.id for s in client.sandboxes.iter()]
    assert client.sandboxes.get(sandbox.id).info.status == "running"
    assert sandbox.self_test().session_id == sandbox.id
    once = client.run("echo once")
    assert once.output == "once\n" and once.session_id != sandbox.id
    assert client.sessions.get(once.session_id or "").status == "terminated"


def test_terminated_sandbox(client: Chasm) -> None:
    box = client.sandboxes.create(env={"A": "1"})
    assert box.commands.run("echo $A").output == "1\n"
    assert box.terminate().status == "terminated"
    with pytest.raises(ChasmAPIError) as refused:
        box.commands.run("true")
    assert refused.value.status_code == 409 and refused.value.code == "session_not_running"
    with pytest.raises(ChasmAPIError) as no_terminal:
        box.pty.connect()
    assert no_terminal.value.status_code == 409
    with pytest.raises(NotFound) as missing:
        client.sandboxes.get("00000000-0000-0000-0000-000000000000")
    assert missing.value.code == "session_not_found" and missing.value.status == 404
