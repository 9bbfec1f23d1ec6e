"""The seccomp profile: dangerous system calls fail with EPERM inside, ordinary tools still work."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Awaitable, Callable
from pathlib import Path

import pyseccomp
import pytest

from chasm.config import Settings
from chasm.sandbox.drivers import seccomp
from chasm.sandbox.drivers.base import SandboxError, SandboxInfo, SandboxSpec
from chasm.sandbox.drivers.bubblewrap import BubblewrapDriver
from chasm.sandbox.drivers.seccomp import CLONE_NEWNET, CLONE_NEWNS, CLONE_NEWUSER, DENIED

StartSandbox = Callable[..., Awaitable[SandboxInfo]]
pytestmark = pytest.mark.sandbox

# name, system call, arguments: harmless calls (no capability inside) that the kernel would
# answer with something other than EPERM, where it can, so that EPERM shows the filter at work.
PROBES = [
    ("keyctl", "keyctl", [0, -3, 0]),  # KEYCTL_GET_KEYRING_ID of the session keyring
    ("add_key", "add_key", [0, 0, 0, 0, -3]),
    ("request_key", "request_key", [0, 0, 0, 0]),
    ("bpf", "bpf", [0, 0, 0]),
    ("userfaultfd", "userfaultfd", [1]),  # UFFD_USER_MODE_ONLY: allowed unprivileged
    ("perf_event_open", "perf_event_open", [0, 0, -1, -1, 0]),
    ("io_uring_setup", "io_uring_setup", [1, 0]),
    ("kexec_load", "kexec_load", [0, 0, 0, 0]),
    ("kexec_file_load", "kexec_file_load", [-1, -1, 0, 0, 0]),
    ("open_by_handle_at", "open_by_handle_at", [-1, 0, 0]),
    ("name_to_handle_at", "name_to_handle_at", [-100, 0, 0, 0, 0]),
    ("init_module", "init_module", [0, 0, 0]),
    ("finit_module", "finit_module", [-1, 0, 0]),
    ("delete_module", "delete_module", [0, 0]),
    ("mount", "mount", [0, 0, 0, 0, 0]),
    ("umount2", "umount2", [0, 0]),
    ("pivot_root", "pivot_root", [0, 0]),
    ("fsopen", "fsopen", [0, 0]),
    ("swapon", "swapon", [0, 0]),
    ("reboot", "reboot", [0, 0, 0, 0]),
    ("settimeofday", "settimeofday", [0, 0]),
    ("clock_settime", "clock_settime", [0, 0]),
    ("acct", "acct", [0]),
    ("syslog", "syslog", [10, 0, 0]),  # SYSLOG_ACTION_SIZE_BUFFER
    ("kcmp", "kcmp", [0, 0, 0, 0, 0]),
    ("unshare(CLONE_NEWUSER)", "unshare", [CLONE_NEWUSER]),
    ("unshare(CLONE_NEWNET)", "unshare", [CLONE_NEWNET]),
    ("unshare(CLONE_NEWNS)", "unshare", [CLONE_NEWNS]),
    ("clone(CLONE_NEWUSER)", "clone", [CLONE_NEWUSER | 17, 0, 0, 0, 0]),
    ("clone3", "clone3", [0, 0]),
]
# Unfiltered, these give another answer (or succeed) on any host that runs bwrap sandboxes:
# proof that the EPERM above is the filter's. (Others depend on sysctls: io_uring_disabled,
# unprivileged_bpf_disabled.)
UNFILTERED_DIFFER = ["keyctl", "userfaultfd", "perf_event_open", "unshare(CLONE_NEWUSER)", "clone3"]

PROBE_SCRIPT = """
import ctypes, errno, json, os, sys
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
seen = {}
for name, number, args in json.loads(sys.argv[1]):
    ctypes.set_errno(0)
    result = libc.syscall(ctypes.c_long(number), *[ctypes.c_long(a) for a in args])
    if result == 0 and name.startswith("clone("):
        os._exit(0)  # the child of a clone that was let through
    seen[name] = errno.errorcode[ctypes.get_errno()] if result == -1 else "ok"
print(json.dumps(seen))
"""


def _probes() -> str:
    return json.dumps([[n, pyseccomp.resolve_syscall(pyseccomp.Arch.NATIVE, c), a] for n, c, a in PROBES])


async def _probe(driver: BubblewrapDriver, session_id: str) -> dict[str, str]:
    await driver.write_file(session_id, "/tmp/probe.py", PROBE_SCRIPT.encode())
    result = await driver.exec(session_id, f"python3 /tmp/probe.py '{_probes()}'")
    assert result.exit_code == 0, result.output
    seen: dict[str, str] = json.loads(result.output)
    return seen


async def test_denied_calls_fail_with_eperm(
    driver: BubblewrapDriver, start: StartSandbox, sandbox_settings: Settings, tmp_path: Path
) -> None:
    await start("s1")
    seen = await _probe(driver, "s1")
    expected = {name: "EPERM" for name, _, _ in PROBES} | {"clone3": "ENOSYS"}
    assert seen == expected

    unfiltered = BubblewrapDriver(sandbox_settings.model_copy(update={"sandbox_seccomp": False}))
    workspace = tmp_path / "workspaces" / "open"
    workspace.mkdir(parents=True)
    await unfiltered.start(SandboxSpec(session_id="open", workspace_dir=workspace))
    try:
        bare = await _probe(unfiltered, "open")
    finally:
        await unfiltered.stop("open")
    assert all(bare[name] != expected[name] for name in UNFILTERED_DIFFER), bare


async def test_every_command_runs_under_the_filter(driver: BubblewrapDriver, start: StartSandbox) -> None:
    await start("s1")
    result = await driver.exec(
        "s1", "grep -E '^Seccomp:' /proc/self/status; grep -E '^Seccomp:' /proc/1/status"
    )
    assert result.output.split() == ["Seccomp:", "2", "Seccomp:", "2"]


async def test_ordinary_tools_still_work(driver: BubblewrapDriver, start: StartSandbox) -> None:
    await start("s1")
    commands = {
        "python": 'python3 -c \'import threading; t = threading.Thread(target=print, args=("py",)); '
        "t.start(); t.join()'",
        "git": "cd /workspace && git init -q repo && cd repo && echo a > a && git add a && "
        "git -c user.email=a@b.c -c user.name=n commit -qm first && git log --format=%s",
        "pip": "python3 -m pip --version",
        "cc": "cd /tmp && printf '#include <stdio.h>\\nint main(void){puts(\"compiled\");}\\n' > h.c "
        "&& cc -o h h.c && ./h",
    }
    if shutil.which("node", path="/usr/bin:/bin"):
        commands["node"] = (
            'node -e \'require("fs").readFile("/etc/hostname", (e, d) => console.log(String(d)))\''
        )
    outputs = {}
    for tool, command in commands.items():
        result = await driver.exec("s1", command, timeout_ms=60_000)
        assert result.exit_code == 0, (tool, result.output)
        outputs[tool] = result.output
    assert outputs["python"] == "py\n" and outputs["git"] == "first\n" and outputs["cc"] == "compiled\n"
    assert outputs["pip"].startswith("pip ")
    if "node" in outputs:
        assert outputs["node"] == "sandbox\n\n"


async def test_without_libseccomp_nothing_starts_unfiltered(
    driver: BubblewrapDriver, start: StartSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    def missing() -> bytes:
        raise seccomp.SeccompUnavailable("libseccomp is not usable (test)")

    monkeypatch.setattr(seccomp, "bpf", missing)
    with pytest.raises(SandboxError, match="CHASM_SANDBOX_SECCOMP=false"):
        await start("s1")
    assert not driver._sandboxes and not list(driver.run_root.glob("s1"))


def test_the_docs_give_a_reason_for_every_denied_call() -> None:
    doc = (Path(__file__).parents[3] / "docs" / "sandboxes.md").read_text()
    denied = doc.split("### Seccomp profile")[1].split("Deliberately allowed")[0]
    named = set(re.findall(r"`([a-z0-9_]+)`", denied))
    assert set(DENIED) | {"unshare", "clone", "clone3"} <= named
    for setting in set(re.findall(r"CHASM_SANDBOX_[A-Z_]+", doc)):
        assert setting.removeprefix("CHASM_").lower() in Settings.model_fields, setting
