"""Workspace disks on the host: quotas, snapshots that restore exactly, clones, mounts."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from chasm.config import Settings
from chasm.sandbox.storage.disk import DiskStorage

pytestmark = pytest.mark.sandbox


def _tree(root: Path) -> dict[str, tuple]:
    found: dict[str, tuple] = {}
    for path in sorted(root.rglob("*")):
        st = path.lstat()
        rel = str(path.relative_to(root))
        if path.is_symlink():
            found[rel] = ("link", os.readlink(path))
        elif path.is_dir():
            found[rel] = ("dir", oct(st.st_mode), st.st_mtime_ns)
        else:
            found[rel] = ("file", path.read_bytes(), oct(st.st_mode), st.st_mtime_ns)
    return found


async def test_snapshot_restores_exactly_and_deduplicates(storage: DiskStorage):
    await storage.create("d1", 64 * 1024**2)
    root = await storage.mount("d1")
    (root / "src").mkdir()
    (root / "src" / "main.py").write_text("print('hi')\n")
    (root / "run.sh").write_text("#!/bin/sh\necho run\n")
    (root / "run.sh").chmod(0o755)
    (root / "empty").mkdir()
    (root / "link").symlink_to("src/main.py")
    (root / "big.bin").write_bytes(os.urandom(200_000))
    before = _tree(root)

    first = await storage.snapshot("d1")
    assert first.file_count == 3 and first.size_bytes == 200_000 + 12 + 19
    assert first.stored_bytes >= 200_000
    second = await storage.snapshot("d1")
    assert second.stored_bytes == 0  # unchanged files cost nothing

    (root / "src" / "main.py").write_text("changed")
    (root / "run.sh").chmod(0o600)
    (root / "link").unlink()
    (root / "link").symlink_to("/etc/passwd")
    (root / "empty").rmdir()
    (root / "added.txt").write_text("new file")
    (root / "newdir" / "deep").mkdir(parents=True)
    await storage.restore("d1", first.ref)
    assert _tree(root) == before

    await storage.delete_snapshot(first.ref)
    await storage.restore("d1", second.ref)  # its blobs survive the other snapshot's deletion
    assert (root / "big.bin").stat().st_size == 200_000
    await storage.delete_snapshot(second.ref)
    assert not list((storage.snapshots.blobs).glob("??/*"))


async def test_clone_copies_the_tree(storage: DiskStorage):
    await storage.create("src", 64 * 1024**2)
    root = await storage.mount("src")
    (root / "a").mkdir()
    (root / "a" / "f.txt").write_text("content")
    (root / "l").symlink_to("a/f.txt")
    await storage.clone("src", "copy", 64 * 1024**2)
    copy = await storage.mount("copy")
    assert (copy / "a" / "f.txt").read_text() == "content"
    assert os.readlink(copy / "l") == "a/f.txt"
    if os.geteuid() == 0:
        assert (copy / "a" / "f.txt").stat().st_uid == storage.uid


async def test_usage_counts_real_bytes(storage: DiskStorage):
    await storage.create("u", 64 * 1024**2)
    root = await storage.mount("u")
    empty = await storage.usage("u")
    assert empty < 256 * 1024
    (root / "data").write_bytes(os.urandom(4 * 1024**2))
    os.sync()
    assert await storage.usage("u") - empty >= 4 * 1024**2
    with (root / "sparse").open("wb") as sparse:
        sparse.truncate(1024**3 // 2)  # no real bytes
    assert await storage.usage("u") - empty < 5 * 1024**2


async def test_loop_disk_enforces_quota_and_survives_remount(tmp_path: Path):
    settings = Settings(data_dir=tmp_path / "data", workspace_storage="loop")
    storage = DiskStorage(settings)
    await storage.create("q", 8 * 1024**2)
    await storage.create("q", 8 * 1024**2)  # idempotent
    root = await storage.mount("q")
    assert os.path.ismount(root) and root.stat().st_uid == settings.sandbox_host_uid
    with pytest.raises(OSError) as excinfo, (root / "big").open("wb") as fh:
        for _ in range(16):
            fh.write(os.urandom(1024**2))
            fh.flush()
            os.fsync(fh.fileno())
    assert "No space left on device" in str(excinfo.value)
    (root / "big").unlink()
    (root / "keep").write_text("kept")
    await storage.unmount_all()  # as after a host restart
    assert not os.path.ismount(root)
    restarted = DiskStorage(settings)
    assert (await restarted.mount("q") / "keep").read_text() == "kept"
    assert await restarted.mount("q") == root  # mount() is idempotent
    await restarted.delete("q")
    assert not (tmp_path / "data" / "workspaces" / "q").exists()
