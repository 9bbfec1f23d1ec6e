"""`chasm harvest --remote`: this machine's transcripts, found with the same discovery as a harvest,
packed into .tar.gz batches in the layout POST /harvest/upload reads (`<source>/<root n>/<path under
the root>`), so a laptop's history goes into a shared server's library.

A state file per server remembers each sent unit's fingerprint (size and mtime of its files), so
the next run sends only what changed; the server would change nothing for the rest anyway."""

from __future__ import annotations

import hashlib
import io
import json
import os
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from chasm.harvest.engine import SourcePlan

BATCH_BYTES = 16 * 1024 * 1024  # raw bytes per upload (the server's body limit is 32 MiB by default)


@dataclass
class Batch:
    archive: bytes
    units: int
    files: int
    sent: dict[str, str] = field(default_factory=dict)  # unit's first member name -> fingerprint


class SentState:
    """Fingerprints of the units already sent to one server (and account)."""

    def __init__(self, data_dir: Path, url: str, account: str | None) -> None:
        digest = hashlib.sha256(f"{url.rstrip('/')}\n{account or ''}".encode()).hexdigest()[:16]
        self.path = data_dir / "remote" / f"{digest}.json"
        try:
            self.sent: dict[str, str] = dict(json.loads(self.path.read_text()))
        except (OSError, ValueError):
            self.sent = {}

    def save(self, sent: dict[str, str]) -> None:
        self.sent.update(sent)
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        temporary = self.path.with_suffix(".tmp")
        temporary.write_text(json.dumps(self.sent))
        temporary.replace(self.path)


def _fingerprint(paths: list[Path]) -> str | None:
    try:
        return ";".join(f"{(st := p.stat()).st_size}:{st.st_mtime_ns}" for p in paths)
    except OSError:
        return None


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


def batches(
    plans: list[SourcePlan], sent: dict[str, str] | None = None, max_bytes: int = BATCH_BYTES
) -> Iterator[Batch]:
    """Every discovered unit's files not sent as they are now, whole units per batch, about
    `max_bytes` of files each."""
    sent = sent or {}
    buffer = io.BytesIO()
    archive = tarfile.open(fileobj=buffer, mode="w:gz")  # noqa: SIM115  (closed when each batch is cut)
    batch = Batch(b"", 0, 0)
    size = 0
    for plan in plans:
        roots = [r for r in plan.roots if r.exists()]
        if not roots:
            continue
        for unit in plan.source.discover(roots):
            names = [(n, p) for p in unit.paths if (n := _member_name(plan.source.name, roots, p))]
            fingerprint = _fingerprint(unit.paths)
            if not names or fingerprint is None or sent.get(names[0][0]) == fingerprint:
                continue
            try:
                for name, path in names:
                    size += _add(archive, name, path)
                    batch.files += 1
            except OSError:
                continue  # vanished or unreadable since discovery: the next run sends it
            batch.units += 1
            batch.sent[names[0][0]] = fingerprint
            if size >= max_bytes:
                archive.close()
                batch.archive = buffer.getvalue()
                yield batch
                buffer = io.BytesIO()
                archive = tarfile.open(fileobj=buffer, mode="w:gz")  # noqa: SIM115
                batch, size = Batch(b"", 0, 0), 0
    archive.close()
    if batch.units:
        batch.archive = buffer.getvalue()
        yield batch
