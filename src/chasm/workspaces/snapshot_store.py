"""Deduplicated, content-addressed snapshots of workspace trees.

`<root>/blobs/ab/<sha256>` holds each distinct file content once; `<root>/manifests/<ref>.json`
lists every entry of a tree (type, mode, mtime, size, sha256 or symlink target). A snapshot only
stores contents the store does not have yet, and a per-disk hash cache keyed by (inode, size,
mtime, ctime) means unchanged files are not even read again. Restore makes the tree exactly the
manifest: contents, modes, mtimes, symlinks, empty directories; entries added since are removed.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import stat
import threading
import uuid
from pathlib import Path
from typing import Any

from chasm.kit.errors import NotFound
from chasm.kit.timeutil import utcnow
from chasm.workspaces.storage_base import SnapshotRef

CHUNK = 1024 * 1024


class SnapshotNotFound(NotFound):
    code = "snapshot_not_found"


def _key(st: os.stat_result) -> list[int]:
    return [st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns]


class SnapshotStore:
    def __init__(self, root: Path, owner_uid: int | None) -> None:
        self.root = root
        self.blobs = root / "blobs"
        self.manifests = root / "manifests"
        self.caches = root / "hashcache"
        self.owner = owner_uid  # files restored or cloned as root are given to this uid
        # Taking a snapshot and collecting unreferenced blobs must not interleave.
        self._gc_lock = threading.Lock()

    def _blob(self, digest: str) -> Path:
        return self.blobs / digest[:2] / digest

    def _manifest(self, ref: str) -> Path:
        if not ref or not all(c in "0123456789abcdef" for c in ref):
            raise SnapshotNotFound(f"Unknown snapshot {ref!r}")
        return self.manifests / f"{ref}.json"

    # -- taking ----------------------------------------------------------------------------

    def _store(self, path: Path) -> tuple[str, int]:
        """Hash `path` while copying it to a temporary blob; keep the blob only if new."""
        tmp = self.blobs / f".tmp-{uuid.uuid4().hex}"
        digest = hashlib.sha256()
        with open(path, "rb") as src, open(tmp, "wb") as dst:
            while chunk := src.read(CHUNK):
                digest.update(chunk)
                dst.write(chunk)
        name = digest.hexdigest()
        blob = self._blob(name)
        if blob.exists():
            tmp.unlink()
            return name, 0
        blob.parent.mkdir(exist_ok=True)
        os.chmod(tmp, 0o444)
        tmp.rename(blob)
        return name, blob.stat().st_size

    def take(self, disk_id: str, tree: Path) -> SnapshotRef:
        with self._gc_lock:
            return self._take(disk_id, tree)

    def _take(self, disk_id: str, tree: Path) -> SnapshotRef:
        self.blobs.mkdir(parents=True, exist_ok=True)
        self.manifests.mkdir(parents=True, exist_ok=True)
        self.caches.mkdir(parents=True, exist_ok=True)
        cache_path = self.caches / f"{disk_id}.json"
        try:
            cache: dict[str, Any] = json.loads(cache_path.read_text())
        except (OSError, ValueError):
            cache = {}
        new_cache: dict[str, Any] = {}
        entries: list[dict[str, Any]] = []
        size = stored = files = 0
        root_st = tree.lstat()
        entries.append(
            {
                "path": "",
                "type": "dir",
                "mode": stat.S_IMODE(root_st.st_mode),
                "mtime_ns": root_st.st_mtime_ns,
            }
        )
        for dirpath, dirnames, filenames in os.walk(tree):
            dirnames.sort()
            for name in sorted(dirnames + filenames):
                full = os.path.join(dirpath, name)
                rel = os.path.relpath(full, tree)
                st = os.lstat(full)
                entry: dict[str, Any] = {
                    "path": rel,
                    "mode": stat.S_IMODE(st.st_mode),
                    "mtime_ns": st.st_mtime_ns,
                }
                if stat.S_ISLNK(st.st_mode):
                    entry.update(type="symlink", target=os.readlink(full))
                elif stat.S_ISDIR(st.st_mode):
                    entry["type"] = "dir"
                elif stat.S_ISREG(st.st_mode):
                    cached = cache.get(rel)
                    if cached and cached[0] == _key(st) and self._blob(cached[1]).exists():
                        digest = cached[1]
                    else:
                        digest, added = self._store(Path(full))
                        stored += added
                    new_cache[rel] = [_key(st), digest]
                    entry.update(type="file", size=st.st_size, sha256=digest)
                    size += st.st_size
                    files += 1
                else:
                    continue  # sockets, fifos and devices are not workspace content
                entries.append(entry)
        ref = uuid.uuid4().hex
        manifest = {"version": 1, "disk_id": disk_id, "created_at": utcnow().isoformat(), "entries": entries}
        self._manifest(ref).write_text(json.dumps(manifest))
        cache_path.write_text(json.dumps(new_cache))
        return SnapshotRef(ref=ref, size_bytes=size, stored_bytes=stored, file_count=files)

    # -- restoring -------------------------------------------------------------------------

    def _chown(self, path: str) -> None:
        if self.owner is not None:
            os.lchown(path, self.owner, self.owner)

    def restore(self, ref: str, tree: Path) -> None:
        try:
            manifest = json.loads(self._manifest(ref).read_text())
        except OSError as exc:
            raise SnapshotNotFound(f"Unknown snapshot {ref!r}") from exc
        wanted = {e["path"]: e for e in manifest["entries"]}
        # Remove what the snapshot does not have (or has with another type), deepest first.
        for dirpath, dirnames, filenames in os.walk(tree, topdown=False):
            for name in dirnames + filenames:
                full = os.path.join(dirpath, name)
                entry = wanted.get(os.path.relpath(full, tree))
                st = os.lstat(full)
                kind = (
                    "symlink" if stat.S_ISLNK(st.st_mode) else "dir" if stat.S_ISDIR(st.st_mode) else "file"
                )
                if entry is None or entry["type"] != kind or not (kind != "file" or stat.S_ISREG(st.st_mode)):
                    if kind == "dir":
                        shutil.rmtree(full)
                    else:
                        os.unlink(full)
        for entry in sorted(manifest["entries"], key=lambda e: e["path"]):
            full = os.path.join(tree, entry["path"]) if entry["path"] else str(tree)
            if entry["type"] == "dir":
                os.makedirs(full, exist_ok=True)
                self._chown(full)
            elif entry["type"] == "symlink":
                if os.path.lexists(full):
                    os.unlink(full)
                os.symlink(entry["target"], full)
                self._chown(full)
            else:
                self._restore_file(entry, full)
        # Directory modes and times last: writing into a directory changes its mtime.
        for entry in sorted(manifest["entries"], key=lambda e: e["path"], reverse=True):
            full = os.path.join(tree, entry["path"]) if entry["path"] else str(tree)
            if entry["type"] == "dir":
                os.chmod(full, entry["mode"])
            if entry["type"] != "file":
                os.utime(full, ns=(entry["mtime_ns"], entry["mtime_ns"]), follow_symlinks=False)

    def _restore_file(self, entry: dict[str, Any], full: str) -> None:
        blob = self._blob(entry["sha256"])
        tmp = f"{full}.chasm-restore"
        with open(blob, "rb") as src, open(tmp, "wb") as dst:
            shutil.copyfileobj(src, dst, CHUNK)
        os.chmod(tmp, entry["mode"])
        self._chown(tmp)
        os.utime(tmp, ns=(entry["mtime_ns"], entry["mtime_ns"]))
        os.replace(tmp, full)

    # -- deleting and cloning --------------------------------------------------------------

    def delete(self, ref: str) -> None:
        """Remove the manifest, then every blob no remaining manifest refers to."""
        with self._gc_lock:
            self._delete(ref)

    def _delete(self, ref: str) -> None:
        path = self._manifest(ref)
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        referenced: set[str] = set()
        if self.manifests.is_dir():
            for other in self.manifests.glob("*.json"):
                with contextlib.suppress(OSError, ValueError):
                    for entry in json.loads(other.read_text())["entries"]:
                        if entry.get("sha256"):
                            referenced.add(entry["sha256"])
        if self.blobs.is_dir():
            for blob in self.blobs.glob("??/*"):
                if blob.name not in referenced:
                    blob.unlink()

    def copy_tree(self, source: Path, target: Path) -> None:
        """Copy every entry of `source` into `target` (contents, modes, times, symlinks)."""
        shutil.copytree(source, target, symlinks=True, dirs_exist_ok=True)
        if self.owner is None:
            return
        for dirpath, dirnames, filenames in os.walk(target):
            self._chown(dirpath)
            for name in dirnames + filenames:
                self._chown(os.path.join(dirpath, name))
