"""Workspace disks on the server's own disk (`DiskStorage`, implementing `WorkspaceStorage`).

Backends, chosen by `Settings.workspace_storage` ("auto" picks the first that works):
- `loop`: one sparse ext4 image per disk (`<data_dir>/workspaces/<id>/disk.img`, its size is the
  quota) loop-mounted at `<id>/mnt`. The quota is hard: a write past it fails with ENOSPC inside
  the sandbox and nothing else is affected. Needs root and loop devices.
- `directory`: a plain directory. The quota is NOT enforced by the filesystem (usage is still
  measured); use it only where loop mounts are impossible (development without root).
Files belong to the sandbox's host uid. Snapshots are in `chasm.sandbox.storage.snapshots`. A disk's
tree is written by sandbox code: everything done to it here goes through `chasm.kit.hostfs`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
from pathlib import Path

from chasm.config import Settings
from chasm.kit import hostfs
from chasm.kit.errors import ChasmError
from chasm.sandbox.storage.base import SnapshotRef
from chasm.sandbox.storage.snapshots import SnapshotStore

JOURNAL_MIN_QUOTA = 64 * 1024**2
MIN_QUOTA = 4 * 1024**2
TOOLS_PATH = "/usr/sbin:/usr/bin:/sbin:/bin"
_LOCKS: dict[str, asyncio.Lock] = {}


class StorageError(ChasmError):
    status_code = 500
    code = "storage_error"


async def _run(*args: str) -> str:
    proc = await asyncio.create_subprocess_exec(
        *args,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        env={"PATH": TOOLS_PATH, "LC_ALL": "C"},
    )
    out, _ = await proc.communicate()
    text = out.decode(errors="replace").strip()
    if proc.returncode != 0:
        raise StorageError(f"{args[0]} failed: {text}")
    return text


def _remove_quietly(directory: Path) -> None:
    """Remove a disk's directory; its tree was sandbox code's (any depth, planted links)."""
    with contextlib.suppress(OSError):
        hostfs.remove_path(directory)


def _used_bytes(path: Path) -> int:
    st = os.statvfs(path)
    return (st.f_blocks - st.f_bfree) * st.f_frsize


class DiskStorage:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.base = settings.data_dir / "workspaces"
        self.is_root = os.geteuid() == 0
        self.uid = settings.sandbox_host_uid if self.is_root else os.getuid()
        self.snapshots = SnapshotStore(settings.data_dir / "snapshots", self.uid if self.is_root else None)
        self.backend = self._choose_backend(settings.workspace_storage)

    def _choose_backend(self, wanted: str) -> str:
        if wanted in ("loop", "directory"):
            return wanted
        loop_ok = (
            self.is_root
            and Path("/dev/loop-control").exists()
            and shutil.which("mkfs.ext4", path=TOOLS_PATH) is not None
            and shutil.which("mount", path=TOOLS_PATH) is not None
        )
        return "loop" if loop_ok else "directory"

    def _lock(self, disk_id: str) -> asyncio.Lock:
        # Shared by every DiskStorage of the process: two instances must not mount a disk twice.
        return _LOCKS.setdefault(str(self.base / disk_id), asyncio.Lock())

    def _dir(self, disk_id: str) -> Path:
        if not disk_id or "/" in disk_id or disk_id.startswith("."):
            raise StorageError(f"Invalid disk id {disk_id!r}")
        return self.base / disk_id

    def _meta(self, disk_id: str) -> dict[str, int | str]:
        try:
            meta: dict[str, int | str] = json.loads((self._dir(disk_id) / "meta.json").read_text())
        except (OSError, ValueError) as exc:
            raise StorageError(f"Disk {disk_id} does not exist") from exc
        return meta

    # -- disks -----------------------------------------------------------------------------

    async def create(self, disk_id: str, quota_bytes: int) -> None:
        async with self._lock(disk_id):
            directory = self._dir(disk_id)
            if (directory / "meta.json").exists():
                return
            _remove_quietly(directory)  # a disk whose creation was cut short
            mnt = directory / "mnt"
            mnt.mkdir(parents=True)
            meta: dict[str, int | str] = {"backend": self.backend, "quota_bytes": quota_bytes}
            try:
                if self.backend == "loop":
                    meta.update(await self._create_image(directory, max(quota_bytes, MIN_QUOTA)))
                elif self.is_root:
                    os.chown(mnt, self.uid, self.uid)
            except BaseException:
                with contextlib.suppress(StorageError):
                    await self._unmount(mnt)
                _remove_quietly(directory)
                raise
            (directory / "meta.json").write_text(json.dumps(meta))

    async def _create_image(self, directory: Path, quota_bytes: int) -> dict[str, int | str]:
        image, mnt = directory / "disk.img", directory / "mnt"
        with open(image, "wb") as fh:
            fh.truncate(quota_bytes)
        options = [f"root_owner={self.uid}:{self.uid}", "nodiscard", "lazy_itable_init=1"]
        journal = ["-J", "size=4"] if quota_bytes >= JOURNAL_MIN_QUOTA else ["-O", "^has_journal"]
        await _run("mkfs.ext4", "-q", "-F", "-m", "0", *journal, "-E", ",".join(options), str(image))
        await self._mount_image(image, mnt)
        with contextlib.suppress(OSError):
            (mnt / "lost+found").rmdir()
        return {"baseline_used": _used_bytes(mnt), "baseline_alloc": image.stat().st_blocks * 512}

    async def _mount_image(self, image: Path, mnt: Path) -> None:
        options = "loop,noatime,nodev,nosuid"
        try:
            await _run("mount", "-o", options, str(image), str(mnt))
        except StorageError:
            # An unclean shutdown leaves the journal to replay: repair, then try once more.
            with contextlib.suppress(StorageError):
                await _run("e2fsck", "-p", str(image))
            await _run("mount", "-o", options, str(image), str(mnt))

    async def _unmount(self, mnt: Path) -> None:
        # Two mounts may be stacked on one mount point (two processes mounting at once): peel all.
        for _ in range(8):
            if not os.path.ismount(mnt):
                return
            try:
                await _run("umount", str(mnt))
            except StorageError:
                await _run("umount", "-l", str(mnt))

    async def unmount_all(self) -> None:
        """Unmount every disk of this data directory (for an orderly shutdown or test teardown).
        Sandboxes still running keep their own reference; `mount()` brings a disk back."""
        if not self.base.is_dir():
            return
        for directory in self.base.iterdir():
            async with self._lock(directory.name):
                await self._unmount(directory / "mnt")

    async def mount(self, disk_id: str) -> Path:
        async with self._lock(disk_id):
            meta = self._meta(disk_id)
            directory = self._dir(disk_id)
            mnt = directory / "mnt"
            if meta.get("backend") == "loop" and not os.path.ismount(mnt):
                await self._mount_image(directory / "disk.img", mnt)
            return mnt

    async def usage(self, disk_id: str) -> int:
        meta = self._meta(disk_id)
        directory = self._dir(disk_id)
        mnt = directory / "mnt"
        if meta.get("backend") != "loop":
            return await asyncio.to_thread(hostfs.tree_bytes, mnt)
        if os.path.ismount(mnt):
            return max(0, _used_bytes(mnt) - int(meta.get("baseline_used", 0)))
        allocated = (directory / "disk.img").stat().st_blocks * 512
        return max(0, allocated - int(meta.get("baseline_alloc", 0)))

    async def delete(self, disk_id: str) -> None:
        async with self._lock(disk_id):
            directory = self._dir(disk_id)
            if not directory.exists():
                return
            await self._unmount(directory / "mnt")
            await asyncio.to_thread(_remove_quietly, directory)
        _LOCKS.pop(str(self.base / disk_id), None)

    async def clone(self, source_id: str, disk_id: str, quota_bytes: int) -> None:
        source = await self.mount(source_id)
        await self.create(disk_id, quota_bytes)
        target = await self.mount(disk_id)
        try:
            await asyncio.to_thread(self.snapshots.copy_tree, source, target)
        except hostfs.TreeTooDeep:
            await self.delete(disk_id)
            raise
        except OSError as exc:
            await self.delete(disk_id)
            raise StorageError(f"Could not clone disk {source_id}: {exc}") from exc

    # -- snapshots -------------------------------------------------------------------------

    async def snapshot(self, disk_id: str) -> SnapshotRef:
        mnt = await self.mount(disk_id)
        return await asyncio.to_thread(self.snapshots.take, disk_id, mnt)

    async def restore(self, disk_id: str, ref: str) -> None:
        mnt = await self.mount(disk_id)
        try:
            await asyncio.to_thread(self.snapshots.restore, ref, mnt)
        except OSError as exc:
            raise StorageError(f"Could not restore snapshot: {exc}") from exc

    async def delete_snapshot(self, ref: str) -> None:
        await asyncio.to_thread(self.snapshots.delete, ref)

    async def collect_garbage(self, known_refs: set[str]) -> int:
        """Remove what interrupted snapshots left behind (see `SnapshotStore.collect_garbage`)."""
        return await asyncio.to_thread(self.snapshots.collect_garbage, known_refs)
