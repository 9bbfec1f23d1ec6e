"""Deduplicated, content-addressed snapshots of workspace trees.

`<root>/blobs/ab/<sha256>` holds each distinct file content once; `<root>/manifests/<ref>.json`
lists every entry of a tree (type, mode, mtime, size, sha256 or symlink target). A snapshot only
stores contents the store does not have yet, and a per-disk hash cache keyed by (inode, size,
mtime, ctime) means unchanged files are not even read again. Restore makes the tree exactly the
manifest: contents, modes, mtimes, symlinks, empty directories; entries added since are removed.

The trees belong to sandboxes, which may change them while a snapshot or restore runs: every
operation on a tree goes through `chasm.kit.hostfs` (directory fds, no symlink ever followed,
regular files only). Manifests and the hash cache are written atomically, and taking, deleting
and collecting garbage hold one lock across processes (`<root>/.lock`), so an interrupted
snapshot leaves at most temporary blobs, which `collect_garbage` removes.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import stat
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from chasm.kit import hostfs
from chasm.kit.errors import NotFound
from chasm.kit.timeutil import utcnow
from chasm.sandbox.storage.base import SnapshotRef

CHUNK = hostfs.CHUNK
TMP_PREFIX = ".tmp-"


class SnapshotNotFound(NotFound):
    code = "snapshot_not_found"


def _key(st: os.stat_result) -> list[int]:
    return [st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns]


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f"{TMP_PREFIX}{uuid.uuid4().hex}-{path.name}")
    with open(tmp, "w") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def _parts(entry: dict[str, Any]) -> list[str]:
    return entry["path"].split("/") if entry["path"] else []


class SnapshotStore:
    def __init__(self, root: Path, owner_uid: int | None) -> None:
        self.root = root
        self.blobs = root / "blobs"
        self.manifests = root / "manifests"
        self.caches = root / "hashcache"
        self.owner = owner_uid  # files restored or cloned as root are given to this uid
        # Taking a snapshot and collecting unreferenced blobs must not interleave (threads here,
        # processes through the lock file).
        self._gc_lock = threading.Lock()

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        with self._gc_lock:
            self.root.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.root / ".lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                yield
            finally:
                os.close(fd)

    def _blob(self, digest: str) -> Path:
        return self.blobs / digest[:2] / digest

    def _manifest(self, ref: str) -> Path:
        if not ref or not all(c in "0123456789abcdef" for c in ref):
            raise SnapshotNotFound(f"Unknown snapshot {ref!r}")
        return self.manifests / f"{ref}.json"

    # -- taking ----------------------------------------------------------------------------

    def _store(self, fd: int, size: int) -> tuple[str, int, int]:
        """Hash at most `size` bytes of `fd` while copying them to a temporary blob; keep the blob
        only if new. (digest, bytes added to the store, bytes read)."""
        tmp = self.blobs / f"{TMP_PREFIX}{uuid.uuid4().hex}"
        digest = hashlib.sha256()

        def sink(chunk: bytes) -> None:
            digest.update(chunk)
            dst.write(chunk)

        try:
            with open(tmp, "wb") as dst:
                read = hostfs.read_into(fd, size, sink)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        name = digest.hexdigest()
        blob = self._blob(name)
        if blob.exists():
            tmp.unlink()
            return name, 0, read
        blob.parent.mkdir(exist_ok=True)
        os.chmod(tmp, 0o444)
        tmp.rename(blob)
        return name, read, read

    def take(self, disk_id: str, tree: Path) -> SnapshotRef:
        with self._locked():
            return self._take(disk_id, tree)

    def _take(self, disk_id: str, tree: Path) -> SnapshotRef:
        for directory in (self.blobs, self.manifests, self.caches):
            directory.mkdir(parents=True, exist_ok=True)
        cache_path = self.caches / f"{disk_id}.json"
        try:
            cache: dict[str, Any] = json.loads(cache_path.read_text())
        except (OSError, ValueError):
            cache = {}
        new_cache: dict[str, Any] = {}
        entries: list[dict[str, Any]] = []
        size = stored = files = 0
        rootfd = hostfs.open_root(tree)
        try:
            root_st = os.fstat(rootfd)
            mode = stat.S_IMODE(root_st.st_mode)
            entries.append({"path": "", "type": "dir", "mode": mode, "mtime_ns": root_st.st_mtime_ns})
            for rel, parent, item in hostfs.walk(rootfd):
                entry: dict[str, Any] = {
                    "path": rel,
                    "mode": stat.S_IMODE(item.st.st_mode),
                    "mtime_ns": item.st.st_mtime_ns,
                }
                try:
                    if item.kind == "symlink":
                        entry.update(type="symlink", target=os.readlink(item.name, dir_fd=parent))
                    elif item.kind == "dir":
                        entry["type"] = "dir"
                    elif item.kind == "file":
                        digest, length, added = self._file_digest(parent, item, cache.get(rel))
                        stored += added
                        new_cache[rel] = [_key(item.st), digest]
                        entry.update(type="file", size=length, sha256=digest)
                        size += length
                        files += 1
                    else:
                        continue  # sockets, fifos and devices are not workspace content
                except OSError as exc:
                    if exc.errno in hostfs.VANISHED:
                        continue  # changed while we looked: the snapshot is of what stayed put
                    raise
                entries.append(entry)
        finally:
            os.close(rootfd)
        ref = uuid.uuid4().hex
        manifest = {"version": 1, "disk_id": disk_id, "created_at": utcnow().isoformat(), "entries": entries}
        _write_atomic(self._manifest(ref), json.dumps(manifest))
        _write_atomic(cache_path, json.dumps(new_cache))
        return SnapshotRef(ref=ref, size_bytes=size, stored_bytes=stored, file_count=files)

    def _file_digest(self, parent: int, item: hostfs.Entry, cached: Any) -> tuple[str, int, int]:
        """(sha256, size, bytes added to the store) of a regular file, read only when changed."""
        if cached and cached[0] == _key(item.st) and self._blob(cached[1]).exists():
            return cached[1], item.st.st_size, 0
        fd, st = hostfs.open_regular(parent, item.name)
        try:
            digest, added, length = self._store(fd, st.st_size)
        finally:
            os.close(fd)
        return digest, length, added

    # -- restoring -------------------------------------------------------------------------

    def restore(self, ref: str, tree: Path) -> None:
        try:
            manifest = json.loads(self._manifest(ref).read_text())
        except OSError as exc:
            raise SnapshotNotFound(f"Unknown snapshot {ref!r}") from exc
        entries = manifest["entries"]
        wanted = {e["path"]: e for e in entries}
        rootfd = hostfs.open_root(tree)
        try:
            self._prune(rootfd, "", wanted)
            self._rebuild(rootfd, sorted(entries, key=_parts))
        finally:
            os.close(rootfd)

    def _prune(self, dirfd: int, prefix: str, wanted: dict[str, dict[str, Any]]) -> None:
        """Remove what the snapshot does not have (or has with another type), deepest first."""
        for item in hostfs.listdir(dirfd):
            rel = f"{prefix}{item.name}"
            entry = wanted.get(rel)
            if entry is None or entry["type"] != item.kind:
                hostfs.remove(dirfd, item.name)
            elif item.kind == "dir":
                try:
                    child = hostfs.open_dir(dirfd, item.name)
                except OSError as exc:
                    if exc.errno not in hostfs.VANISHED:
                        raise
                    hostfs.remove(dirfd, item.name)
                    continue
                try:
                    self._prune(child, rel + "/", wanted)
                finally:
                    os.close(child)

    def _rebuild(self, rootfd: int, entries: Iterable[dict[str, Any]]) -> None:
        """Create every entry, parents first (`entries` in depth-first order). A directory's mode
        and time are set once all its children are written (writing into it changes its mtime)."""
        owner = self.owner
        stack: list[tuple[list[str], int, dict[str, Any]]] = []

        def close_until(parent: list[str]) -> None:
            while stack and stack[-1][0] != parent[: len(stack[-1][0])]:
                self._finish_dir(*stack.pop()[1:])
            while stack and len(stack[-1][0]) > len(parent):
                self._finish_dir(*stack.pop()[1:])

        try:
            for entry in entries:
                parts = _parts(entry)
                if not parts:
                    if owner is not None:
                        os.fchown(rootfd, owner, owner)
                    stack.append(([], os.dup(rootfd), entry))
                    continue
                close_until(parts[:-1])
                if not stack or stack[-1][0] != parts[:-1]:
                    continue  # its parent could not be made
                parent, name = stack[-1][1], parts[-1]
                mtime = entry["mtime_ns"]
                if entry["type"] == "dir":
                    fd = hostfs.ensure_dir(parent, name)
                    if owner is not None:
                        os.fchown(fd, owner, owner)
                    stack.append((parts, fd, entry))
                elif entry["type"] == "symlink":
                    hostfs.make_symlink(parent, name, entry["target"], owner, mtime)
                else:
                    source = self._blob_source(entry["sha256"])
                    hostfs.write_file(parent, name, source, entry["mode"], owner, mtime)
            close_until([])
        finally:
            for _, fd, _ in stack:
                os.close(fd)

    @staticmethod
    def _finish_dir(fd: int, entry: dict[str, Any]) -> None:
        try:
            os.fchmod(fd, entry["mode"] & hostfs.SAFE_MODE_BITS)
            os.utime(fd, ns=(entry["mtime_ns"], entry["mtime_ns"]))
        finally:
            os.close(fd)

    def _blob_source(self, digest: str) -> Callable[[Callable[[bytes], object]], object]:
        def source(sink: Callable[[bytes], object]) -> None:
            with open(self._blob(digest), "rb") as src:
                while chunk := src.read(CHUNK):
                    sink(chunk)

        return source

    # -- deleting, collecting and cloning --------------------------------------------------

    def delete(self, ref: str) -> None:
        """Remove the manifest, then every blob no remaining manifest refers to."""
        path = self._manifest(ref)
        with self._locked():
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
            self._collect_blobs()

    def collect_garbage(self, known_refs: set[str] | None = None, min_age_s: float = 600) -> int:
        """Remove what interrupted work left: temporary files, manifests that no snapshot record
        names (when `known_refs` is given; only those older than `min_age_s`, so a snapshot whose
        record is being written is kept), and blobs no manifest refers to. Bytes freed."""
        with self._locked():
            freed = 0
            cutoff = time.time() - min_age_s
            for directory in (self.blobs, self.manifests, self.caches):
                for tmp in directory.glob(f"{TMP_PREFIX}*") if directory.is_dir() else []:
                    freed += tmp.stat().st_size
                    tmp.unlink(missing_ok=True)
            if known_refs is not None and self.manifests.is_dir():
                for manifest in self.manifests.glob("*.json"):
                    st = manifest.stat()
                    if manifest.stem not in known_refs and st.st_mtime < cutoff:
                        freed += st.st_size
                        manifest.unlink(missing_ok=True)
            return freed + self._collect_blobs()

    def _collect_blobs(self) -> int:
        referenced: set[str] = set()
        if self.manifests.is_dir():
            for other in self.manifests.glob("*.json"):
                with contextlib.suppress(OSError, ValueError):
                    for entry in json.loads(other.read_text())["entries"]:
                        if entry.get("sha256"):
                            referenced.add(entry["sha256"])
        freed = 0
        if self.blobs.is_dir():
            for blob in self.blobs.glob("??/*"):
                if blob.name not in referenced:
                    freed += blob.stat().st_size
                    blob.unlink()
        return freed

    def copy_tree(self, source: Path, target: Path) -> None:
        """Copy every entry of `source` into `target` (contents, modes, times, symlinks)."""
        hostfs.copy_tree(source, target, self.owner)
