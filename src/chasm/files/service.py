"""File transfer between the caller and a sandbox session's filesystem."""

from __future__ import annotations

import mimetypes
from collections.abc import AsyncIterator
from pathlib import PurePosixPath

from sqlalchemy.ext.asyncio import AsyncSession

from chasm.audit.service import record
from chasm.auth.actor import Actor
from chasm.files.exceptions import FileTooLarge
from chasm.files.multipart import read_upload
from chasm.files.paths import confine
from chasm.models import SandboxSession
from chasm.sandbox.runtime import SandboxRuntime
from chasm.sessions import service as sessions

# Multipart framing around the file: headers, boundaries, the `path` field.
ENVELOPE_SLACK = 64 * 1024


async def upload(
    db: AsyncSession,
    actor: Actor,
    runtime: SandboxRuntime,
    row: SandboxSession,
    content_type: str,
    content_length: int | None,
    body: AsyncIterator[bytes],
) -> tuple[str, int]:
    limit = runtime.settings.upload_max_bytes
    if content_length is not None and content_length > limit + ENVELOPE_SLACK:
        raise FileTooLarge(f"file exceeds the upload limit of {limit} bytes")
    received = await read_upload(content_type, body, limit)
    return await write(db, actor, runtime, row, received.path or "", received.data or b"")


async def write(
    db: AsyncSession, actor: Actor, runtime: SandboxRuntime, row: SandboxSession, raw_path: str, data: bytes
) -> tuple[str, int]:
    """Write `data` to a file of the session (created with its folders, or replaced): (path, size)."""
    path = confine(raw_path)
    if len(data) > runtime.settings.upload_max_bytes:
        raise FileTooLarge(f"file exceeds the upload limit of {runtime.settings.upload_max_bytes} bytes")
    size = await runtime.driver.write_file(str(row.id), path, data)
    sessions.mark_active(runtime, row)
    record(db, actor, "session.file.upload", "session", row.id, metadata={"path": path, "size": size})
    return path, size


async def download(runtime: SandboxRuntime, row: SandboxSession, raw_path: str) -> tuple[str, bytes, str]:
    """(path, contents, content type) of a file in the session."""
    path = confine(raw_path)
    limit = runtime.settings.upload_max_bytes
    data = await runtime.driver.read_file(str(row.id), path, limit)
    if len(data) > limit:
        raise FileTooLarge(f"file exceeds the download limit of {limit} bytes")
    sessions.mark_active(runtime, row)
    content_type = mimetypes.guess_type(PurePosixPath(path).name)[0] or "application/octet-stream"
    return path, data, content_type
