"""The /workspace of an ephemeral session: a size-capped tmpfs on the host, gone with the session.

As root the directory is a tmpfs mount of `sandbox_ephemeral_workspace_bytes` (scaled down with
the other tmpfs caps for a small memory limit: `limits.tmpfs_caps`; `nodev,nosuid`,
owned by the sandbox host uid): a write past the cap fails with ENOSPC inside the sandbox and
nothing else breaks, and its pages are charged to the memory cgroup of the sandbox writing them.
Without the right to mount it is a plain directory (not capped), like the `directory` workspace
storage.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
from pathlib import Path

from chasm.config import Settings
from chasm.kit import hostfs
from chasm.sandbox.drivers.mounts import mounts_under
from chasm.sandbox.limits import tmpfs_caps

MS_NOSUID = 0x2
MS_NODEV = 0x4
MNT_DETACH = 0x2
_libc = ctypes.CDLL(None, use_errno=True)
log = logging.getLogger("chasm.sessions")


def root(settings: Settings) -> Path:
    return settings.data_dir / "sandboxes" / "ephemeral"


def path(settings: Settings, session_id: str) -> Path:
    return root(settings) / session_id


def create(settings: Settings, session_id: str, memory_bytes: int | None = None) -> Path:
    """Make the (empty) workspace of a new ephemeral session whose sandbox has this memory limit
    (default: `sandbox_memory_bytes`)."""
    target = path(settings, session_id)
    target.mkdir(parents=True, exist_ok=True)
    size = tmpfs_caps(settings, memory_bytes or settings.sandbox_memory_bytes)[0]
    if os.geteuid() == 0 and size:
        uid = settings.sandbox_host_uid
        options = f"size={size},mode=0755,uid={uid},gid={uid}"
        flags = MS_NOSUID | MS_NODEV
        if _libc.mount(b"tmpfs", str(target).encode(), b"tmpfs", flags, options.encode()) != 0:
            err = ctypes.get_errno()
            raise OSError(err, f"cannot mount the ephemeral workspace: {os.strerror(err)}")
    return target


def remove(settings: Settings, session_id: str) -> None:
    """Unmount (lazily: a sandbox still holding it keeps it until it dies) and delete."""
    target = path(settings, session_id)
    _libc.umount2(str(target).encode(), MNT_DETACH)
    with contextlib.suppress(OSError):  # without the right to mount, the tree is sandbox code's
        hostfs.remove_path(target)


def remove_strays(settings: Settings, live: set[str]) -> list[str]:
    """Unmount and delete the workspaces of ephemeral sessions that are not live (after a crash,
    a failed start, or at a clean stop with `live` empty). Returns the ids removed."""
    base = root(settings)
    strays: set[str] = set()
    with contextlib.suppress(OSError):
        strays.update(entry.name for entry in base.iterdir() if entry.name not in live)
    strays.update(m.relative_to(base).parts[0] for m in mounts_under(base))
    strays -= live
    for session_id in sorted(strays):
        log.warning("removing the workspace of ended ephemeral session %s", session_id)
        for _ in range(8):  # a mount stacked on another (a start retried over a leftover)
            _libc.umount2(str(path(settings, session_id)).encode(), MNT_DETACH)
            if not any(m == path(settings, session_id) for m in mounts_under(base)):
                break
        remove(settings, session_id)
    return sorted(strays)
