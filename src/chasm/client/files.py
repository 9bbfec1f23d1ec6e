"""`sandbox.files`: write (upload), read (download), list and remove files of a sandbox.

Reading and writing go through the file API (`/upload`, `/download`: paths under /workspace,
relative ones start there, or /tmp; 16 MB a file). The API has no listing or removal, so `list`
and `remove` run a small POSIX shell script in the sandbox through exec (the key needs the
`exec.write` scope for them); the path travels in an environment variable, never inside the
script's text."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import IO, TYPE_CHECKING, Any

from chasm.client._base import SyncTransport
from chasm.client.errors import ChasmAPIError, NotFound
from chasm.client.models import FileEntry, FileInfo

if TYPE_CHECKING:
    from chasm.client.commands import Commands

ROOT = "/workspace"
PATH_VAR = "CHASM_FILE_PATH"
MISSING = 44  # the scripts' exit code for a path that does not exist

# One record per entry, NUL-terminated: "<size>/<mtime>/<type>/<name>" (a name holds no "/"),
# after the directory's own absolute path.
LIST_SCRIPT = f"""if ! cd -- "${PATH_VAR}" 2>/dev/null; then
  echo "no such directory: ${PATH_VAR}" >&2; exit {MISSING}
fi
printf '%s\\0' "$(pwd -P)"
for f in .[!.]* ..?* *; do
  [ -e "$f" ] || [ -L "$f" ] || continue
  printf '%s/%s\\0' "$(stat -c '%s/%Y/%F' -- "$f")" "$f"
done"""

REMOVE_SCRIPT = f"""if [ ! -e "${PATH_VAR}" ] && [ ! -L "${PATH_VAR}" ]; then
  echo "no such file: ${PATH_VAR}" >&2; exit {MISSING}
fi
rm -rf -- "${PATH_VAR}\""""

TYPES = {"regular file": "file", "regular empty file": "file", "directory": "dir", "symbolic link": "symlink"}

Content = str | bytes | Path | IO[bytes]


def upload_parts(path: str, content: str | bytes | IO[bytes]) -> dict[str, Any]:
    data = content.encode() if isinstance(content, str) else content
    name = PurePosixPath(path).name or "file"
    return {"data": {"path": path}, "files": {"file": (name, data, "application/octet-stream")}}


def parse_listing(output: str) -> list[FileEntry]:
    fields = output.split("\0")
    directory = PurePosixPath(fields[0])
    entries = []
    for record in fields[1:]:
        if not record:
            continue
        size, mtime, kind, name = record.split("/", 3)
        entries.append(
            FileEntry(
                name=name,
                path=str(directory / name),
                type=TYPES.get(kind, "other"),
                size=int(size) if size.isdigit() else 0,
                modified_at=datetime.fromtimestamp(int(mtime), UTC) if mtime.isdigit() else None,
            )
        )
    return sorted(entries, key=lambda e: e.name)


def script_failed(path: str, exit_code: int | None, output: str) -> ChasmAPIError:
    if exit_code == MISSING:
        return NotFound(404, "file_not_found", f"'{path}' does not exist in the sandbox")
    return ChasmAPIError(500, "file_operation_failed", output.strip() or f"exit code {exit_code}")


class Files:
    def __init__(self, transport: SyncTransport, session_id: str, commands: Commands) -> None:
        self._t = transport
        self._base = f"/v1/sessions/{session_id}"
        self._commands = commands

    def write(self, path: str, content: Content) -> FileInfo:
        """Create or replace the file at `path` (text is written as UTF-8)."""
        if isinstance(content, Path):
            with content.open("rb") as fh:
                return self.write(path, fh)
        return FileInfo.from_dict(
            self._t.request("POST", f"{self._base}/upload", **upload_parts(path, content))
        )

    def read_bytes(self, path: str) -> bytes:
        return self._t.content("GET", f"{self._base}/download", params={"path": path})

    def read(self, path: str, encoding: str = "utf-8") -> str:
        return self.read_bytes(path).decode(encoding)

    def list(self, path: str = ".") -> list[FileEntry]:
        """The entries of a directory, by name (hidden ones included)."""
        result = self._commands.run(LIST_SCRIPT, cwd=ROOT, env={PATH_VAR: path})
        if result.exit_code != 0:
            raise script_failed(path, result.exit_code, result.output)
        return parse_listing(result.output)

    def remove(self, path: str) -> None:
        """Remove a file, or a directory with everything in it."""
        result = self._commands.run(REMOVE_SCRIPT, cwd=ROOT, env={PATH_VAR: path})
        if result.exit_code != 0:
            raise script_failed(path, result.exit_code, result.output)
