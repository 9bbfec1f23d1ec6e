"""Reading and writing files as the sandbox sees them, confined to /workspace and /tmp.

The helpers run *inside* the sandbox as its user (see `BubblewrapDriver._file_helper`): the path is
resolved by `realpath` in the sandbox's own mount namespace, so `..` and symlinks resolve exactly
as the sandbox's programs would resolve them, and the kernel's permissions are the boundary; the
prefix check below is the policy (only /workspace and /tmp). A helper gets `HELPER_TIMEOUT_S`:
sandbox code can swap the file for a FIFO between the checks and the read, and a read of a FIFO
with no writer would otherwise wait forever (with its request and helper process).
"""

from __future__ import annotations

from chasm.sandbox.drivers.base import (
    PathNotAllowed,
    SandboxError,
    SandboxFileNotFound,
    SandboxNoSpace,
)

ALLOWED_ROOTS = ("/workspace", "/tmp")
HELPER_TIMEOUT_S = 60.0  # 16 MB (the upload cap) takes milliseconds
# Exit codes of the file helpers run inside the sandbox.
E_NOT_ALLOWED, E_NOT_FOUND, E_NOT_FILE, E_WRITE = 90, 91, 92, 93
CONFINE = f"""p=$(realpath -m -- "$CHASM_PATH") || exit {E_NOT_ALLOWED}
case "$p" in /workspace|/workspace/*|/tmp|/tmp/*) ;; *) exit {E_NOT_ALLOWED};; esac
"""
READ_SCRIPT = (
    CONFINE
    + f"""[ -e "$p" ] || exit {E_NOT_FOUND}
[ -f "$p" ] || exit {E_NOT_FILE}
exec head -c "$CHASM_MAX" -- "$p"
"""
)
WRITE_SCRIPT = (
    CONFINE
    + f"""[ -e "$p" ] && [ ! -f "$p" ] && exit {E_NOT_FILE}
mkdir -p -- "$(dirname -- "$p")" || exit {E_WRITE}
cat > "$p" || exit {E_WRITE}
"""
)


def absolute(path: str) -> str:
    """The sandbox path of `path` (relative paths are relative to /workspace)."""
    if not path or "\0" in path:
        raise PathNotAllowed("Invalid path")
    return path if path.startswith("/") else f"/workspace/{path}"


def check(code: int | None, stderr: bytes, path: str) -> None:
    """Translate a helper's exit status into the driver's errors."""
    message = stderr.decode(errors="replace").strip()
    if code == E_NOT_ALLOWED:
        raise PathNotAllowed(f"{path}: only files under {' and '.join(ALLOWED_ROOTS)} are accessible")
    if code == E_NOT_FOUND:
        raise SandboxFileNotFound(f"{path}: no such file")
    if code == E_NOT_FILE:
        raise SandboxError(f"{path}: not a regular file", status_code=400, code="not_a_file")
    if code != 0:
        if "No space left" in message or "Disk quota" in message:
            raise SandboxNoSpace(f"{path}: no space left on the workspace disk")
        raise SandboxError(f"{path}: {message or f'failed with exit code {code}'}", status_code=400)
