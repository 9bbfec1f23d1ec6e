"""One server per data directory: an exclusive `flock` on `<data_dir>/server.lock`.

The lock is taken before anything touches the database or the sandboxes, and is held (by an
open descriptor) until the process exits, so a crashed server never leaves it behind. The pid of
the holder is written into the file only to name it in the refusal message.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path

from chasm.kit.errors import ChasmError

LOCK_NAME = "server.lock"


class DataDirLocked(ChasmError):
    status_code = 409
    code = "data_dir_locked"


_held: dict[Path, DataDirLock] = {}


def hold(data_dir: Path) -> DataDirLock | None:
    """Lock `data_dir` for this process; None when this process holds it already (`chasm api
    serve` takes it before uvicorn starts the app, whose lifespan asks again)."""
    key = data_dir.resolve()
    if key in _held:
        return None
    lock = DataDirLock(data_dir)
    lock.acquire()
    _held[key] = lock
    return lock


class DataDirLock:
    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / LOCK_NAME
        self._fd: int | None = None

    def acquire(self) -> None:
        """Take the lock or raise DataDirLocked naming the data directory and the holder's pid."""
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            raise DataDirLocked(
                f"another Chasm server (pid {holder}) is running on the data directory "
                f"{self.path.parent}; stop it first, or give this one its own CHASM_DATA_DIR"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._fd = fd

    def release(self) -> None:
        _held.pop(self.path.parent.resolve(), None)
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.ftruncate(self._fd, 0)
            os.close(self._fd)
            self._fd = None
