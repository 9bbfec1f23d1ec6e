"""Which paths the file API may touch: inside /workspace (relative paths start there) or /tmp.

`..` components and absolute paths elsewhere are refused here; symlinks are resolved by the
driver against the sandbox's own filesystem, which refuses those that lead outside it.
"""

from __future__ import annotations

from pathlib import PurePosixPath

from chasm.files.exceptions import PathNotAllowed

ROOTS = (PurePosixPath("/workspace"), PurePosixPath("/tmp"))


def confine(raw: str) -> str:
    value = (raw or "").strip()
    if not value or "\x00" in value:
        raise PathNotAllowed("path is empty or contains a NUL byte")
    path = PurePosixPath(value)
    if ".." in path.parts:
        raise PathNotAllowed(f"'{raw}' contains '..'")
    if not path.is_absolute():
        path = ROOTS[0] / path
    if not any(path == root or root in path.parents for root in ROOTS):
        raise PathNotAllowed(f"'{raw}' is outside /workspace and /tmp")
    if path in ROOTS:
        raise PathNotAllowed(f"'{raw}' is a directory")
    return str(path)
