"""The seccomp profile of every bubblewrap sandbox: a denylist in the spirit of Docker's default.

Default action ALLOW; the system calls below fail with EPERM (clone3 with ENOSYS). The filter is
compiled once per process with libseccomp (`pyseccomp`, a ctypes binding with the API of
libseccomp's own Python bindings) into a classic BPF program. bwrap loads it (`--seccomp FD`)
right before it executes the sandbox's pid 1, so the agent and everything it forks run under it;
the nsenter fallback loads it in the host-side launcher before it enters (see `LOADER`). Why each
call is denied, or deliberately allowed, is in docs/sandboxes.md.
"""

from __future__ import annotations

import base64
import errno
import functools
import tempfile
from typing import Any

# The reason of each denial lives in docs/sandboxes.md ("seccomp profile"); the groups here
# follow it.
DENIED = (
    # kernel keyrings: not namespaced per sandbox, a long history of bugs
    "keyctl",
    "add_key",
    "request_key",
    # kernel-side programs, tracing and page-fault handling from user space: exploit primitives
    "bpf",
    "perf_event_open",
    "userfaultfd",
    "io_uring_setup",
    "io_uring_enter",
    "io_uring_register",
    # kernel modules and kexec
    "init_module",
    "finit_module",
    "delete_module",
    "create_module",
    "query_module",
    "get_kernel_syms",
    "kexec_load",
    "kexec_file_load",
    # file handles bypass path lookup (the "shocker" container escape)
    "open_by_handle_at",
    "name_to_handle_at",
    # mounts, old and new API
    "mount",
    "umount",
    "umount2",
    "pivot_root",
    "move_mount",
    "open_tree",
    "fsopen",
    "fsconfig",
    "fsmount",
    "fspick",
    "mount_setattr",
    # host administration: clock, swap, reboot, accounting, quotas, kernel log, ports, terminals
    "settimeofday",
    "stime",
    "clock_settime",
    "clock_adjtime",
    "swapon",
    "swapoff",
    "reboot",
    "acct",
    "quotactl",
    "quotactl_fd",
    "syslog",
    "iopl",
    "ioperm",
    "vhangup",
    "lookup_dcookie",
    "fanotify_init",
    "kcmp",
    # obsolete
    "nfsservctl",
    "uselib",
    "ustat",
    "sysfs",
    "_sysctl",
    "vm86",
    "vm86old",
)
CLONE_NEWTIME = 0x80
CLONE_NEWNS = 0x00020000
CLONE_NEWCGROUP = 0x02000000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000
# clone() keeps its exit signal in the low byte, where unshare() has CLONE_NEWTIME.
CLONE_NAMESPACES = (
    CLONE_NEWNS,
    CLONE_NEWCGROUP,
    CLONE_NEWUTS,
    CLONE_NEWIPC,
    CLONE_NEWUSER,
    CLONE_NEWPID,
    CLONE_NEWNET,
)
UNSHARE_NAMESPACES = (*CLONE_NAMESPACES, CLONE_NEWTIME)

# The nsenter fallback's launcher: `python -I -S -c LOADER <base64 BPF> argv...` sets
# no_new_privs (PR_SET_NO_NEW_PRIVS, 38), loads the filter (PR_SET_SECCOMP, 22,
# SECCOMP_MODE_FILTER, 2) and executes argv (the host-side prelude, then nsenter). prctl's
# arguments are unsigned longs, passed as such.
LOADER = """\
import base64, ctypes, os, sys
class Prog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]
code = base64.b64decode(sys.argv[1])
buffer = ctypes.create_string_buffer(code, len(code))
prog = Prog(len(code) // 8, ctypes.cast(buffer, ctypes.c_void_p))
libc = ctypes.CDLL(None, use_errno=True)
one, two, zero = ctypes.c_ulong(1), ctypes.c_ulong(2), ctypes.c_ulong(0)
if libc.prctl(38, one, zero, zero, zero) or libc.prctl(22, two, ctypes.byref(prog)):
    sys.stderr.write("chasm: cannot load the seccomp filter: " + os.strerror(ctypes.get_errno()) + "\\n")
    os._exit(126)
os.execv(sys.argv[2], sys.argv[2:])
"""


class SeccompUnavailable(RuntimeError):
    """libseccomp (the C library) or its Python binding cannot be loaded."""


def _library() -> Any:
    try:
        import pyseccomp
    except (ImportError, RuntimeError, OSError) as exc:  # RuntimeError: libseccomp.so not found
        raise SeccompUnavailable(f"libseccomp is not usable ({exc}); apt-get install -y libseccomp2") from exc
    return pyseccomp


@functools.cache
def bpf() -> bytes:
    """The compiled filter (a `struct sock_filter` array), built once per process."""
    sc = _library()
    profile = sc.SyscallFilter(sc.ALLOW)
    # The 32-bit ABIs get the same denials (otherwise `int 0x80` would be a way around them).
    extra = {sc.Arch.X86_64: (sc.Arch.X86, sc.Arch.X32), sc.Arch.AARCH64: (sc.Arch.ARM,)}
    for arch in extra.get(sc.system_arch(), ()):
        profile.add_arch(arch)
    eperm = sc.ERRNO(errno.EPERM)
    for name in DENIED:
        # A call newer than this libseccomp resolves to -1 (pseudo numbers of calls that only
        # some architectures have are below -10000 and are fine): it cannot be denied here.
        if sc.resolve_syscall(sc.Arch.NATIVE, name) != -1:
            profile.add_rule(eperm, name)
    for flag in UNSHARE_NAMESPACES:
        profile.add_rule(eperm, "unshare", sc.Arg(0, sc.MASKED_EQ, flag, flag))
    for flag in CLONE_NAMESPACES:
        profile.add_rule(eperm, "clone", sc.Arg(0, sc.MASKED_EQ, flag, flag))
    # clone3 takes its flags in memory, out of a filter's sight: ENOSYS makes libc fall back to clone.
    profile.add_rule(sc.ERRNO(errno.ENOSYS), "clone3")
    with tempfile.TemporaryFile() as out:
        profile.export_bpf(out)
        out.seek(0)
        return out.read()


def loader_argv(python: str, program: bytes, argv: list[str]) -> list[str]:
    """argv that runs `argv` under the filter `program` (for processes bwrap does not start)."""
    return [python, "-I", "-S", "-c", LOADER, base64.b64encode(program).decode(), *argv]
