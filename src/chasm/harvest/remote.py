"""`chasm harvest --remote`: this machine's transcripts, found with the same discovery as a harvest,
packed into .tar.gz batches in the layout POST /harvest/upload reads (`<source>/<root n>/<path under
the root>`), so a laptop's history goes into a shared server's library."""

from __future__ import annotations

import io
import os
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from chasm.harvest.engine import SourcePlan

BATCH_BYTES = 16 * 1024 * 1024  # raw bytes per upload (the server's body limit is 32 MiB by default)


@dataclass
class Batch:
    archive: bytes
    units: int
    files: int


def _member_name(source: str, roots: list[Path], path: Path) -> str | None:
    for index, root in enumerate(roots):
        if path == root:
            return f"{source}/{index}/{path.name}"
        if path.is_relative_to(root):
            return f"{source}/{index}/{path.relative_to(root).as_posix()}"
    return None


def _add(archive: tarfile.TarFile, name: str, path: Path) -> int:
    """The file's bytes as a regular member (a symlink is read through, as the tool itself would)."""
    with path.open("rb") as fh:
        size = os.fstat(fh.fileno()).st_size
        info = tarfile.TarInfo(name)
        info.size = size
        info.mtime = int(path.stat().st_mtime)
        info.mode = 0o600
        archive.addfile(info, fh)
    return size


def batches(plans: list[SourcePlan], max_bytes: int = BATCH_BYTES) -> Iterator[Batch]:
    """Every discovered unit's files, whole units per batch, about `max_bytes` of files each."""
    buffer = io.BytesIO()
    archive = tarfile.open(fileobj=buffer, mode="w:gz")  # noqa: SIM115  (closed when each batch is cut)
    size = units = files = 0
    for plan in plans:
        roots = [r for r in plan.roots if r.exists()]
        if not roots:
            continue
        for unit in plan.source.discover(roots):
            names = [(n, p) for p in unit.paths if (n := _member_name(plan.source.name, roots, p))]
            try:
                for name, path in names:
                    size += _add(archive, name, path)
                    files += 1
            except OSError:
                continue  # vanished or unreadable since discovery: the next run sends it
            units += 1
            if size >= max_bytes:
                archive.close()
                yield Batch(buffer.getvalue(), units, files)
                buffer = io.BytesIO()
                archive = tarfile.open(fileobj=buffer, mode="w:gz")  # noqa: SIM115
                size = units = files = 0
    archive.close()
    if units:
        yield Batch(buffer.getvalue(), units, files)
