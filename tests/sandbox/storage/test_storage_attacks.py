"""Host-side operations on a workspace tree that sandbox code controls: planted symlinks (to host
files, host directories, /dev/zero), FIFOs, set-user-id files and entries swapped while the server
works. The host is never read or written outside the workspace store."""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from chasm.kit import hostfs
from chasm.sandbox.storage.disk import DiskStorage, StorageError
from chasm.sandbox.storage.importer import clone_into

pytestmark = pytest.mark.sandbox
SECRET = b"TOP-SECRET-HOST-CONTENT"


@pytest.fixture
def host(tmp_path: Path) -> Path:
    """A host directory with a root-only secret file, outside every workspace."""
    directory = tmp_path / "host"
    directory.mkdir(mode=0o700)
    secret = directory / "secret"
    secret.write_bytes(SECRET)
    secret.chmod(0o600)
    return directory


def _host_state(host: Path) -> dict[str, tuple[bytes, int, int, int]]:
    return {
        p.name: (p.read_bytes(), p.stat().st_mode, p.stat().st_uid, p.stat().st_mtime_ns)
        for p in sorted(host.iterdir())
    }


def _blobs_hold_secret(storage: DiskStorage) -> bool:
    return any(SECRET in blob.read_bytes() for blob in storage.snapshots.blobs.glob("??/*"))


def _remove(path: Path) -> None:
    """Remove whatever is at `path` without following it, in-process: a `rm` child per swap made
    the loop too slow to race the restores on a loaded machine."""
    try:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink(missing_ok=True)
    except (OSError, RecursionError):
        subprocess.run(["rm", "-rf", str(path)], check=False)


@contextmanager
def _swapping(directory: Path, name: str, variants: list[Path]) -> Iterator[list[int]]:
    """Keep replacing `directory/name` with each of `variants` (prepared entries renamed over it,
    atomically, as sandbox code would) until the block ends; yields a one-item swap counter."""
    stop = threading.Event()
    count = [0]

    def swap(variant: Path) -> None:
        staged = directory / f".staged-{variant.name}"
        _remove(staged)
        if variant.is_symlink():
            os.symlink(os.readlink(variant), staged)
        elif variant.is_dir():
            staged.mkdir()
        elif stat.S_ISFIFO(variant.stat().st_mode):
            os.mkfifo(staged)
        else:
            staged.write_bytes(variant.read_bytes())
            staged.chmod(stat.S_IMODE(variant.stat().st_mode))
        try:
            os.rename(staged, directory / name)
        except OSError:  # a directory there: move it aside first
            aside = directory / f".aside-{count[0]}"
            os.rename(directory / name, aside)
            os.rename(staged, directory / name)
            _remove(aside)

    def loop() -> None:
        while not stop.is_set():
            for variant in variants:
                try:
                    swap(variant)
                except OSError:  # the server removed or replaced an entry meanwhile (a restore)
                    continue
                count[0] += 1

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    try:
        yield count
    finally:
        stop.set()
        thread.join()


async def test_restore_never_writes_through_a_planted_symlink(storage: DiskStorage, host: Path):
    await storage.create("d1", 64 * 1024**2)
    root = await storage.mount("d1")
    (root / "a").write_bytes(b"#!/bin/sh\necho pwned\n")
    (root / "a").chmod(0o4755)
    (root / "dir").mkdir()
    (root / "dir" / "f").write_text("inside")
    # The published reproduction: a symlink at the old temporary name, pointing at a host file,
    # is part of the snapshot; restoring `a` wrote through it as root.
    (root / "a.chasm-restore").symlink_to(host / "secret")
    snap = await storage.snapshot("d1")
    before = _host_state(host)

    # Each entry of the snapshot replaced by a symlink out of the tree.
    (root / "a").unlink()
    (root / "a").symlink_to(host / "secret")
    subprocess.run(["rm", "-rf", str(root / "dir")], check=True)
    (root / "dir").symlink_to(host)
    await storage.restore("d1", snap.ref)

    assert _host_state(host) == before
    assert not (host / "f").exists() and not (host / "a").exists()
    assert (root / "a").read_bytes() == b"#!/bin/sh\necho pwned\n" and not (root / "a").is_symlink()
    assert not (root / "a").stat().st_mode & (stat.S_ISUID | stat.S_ISGID)  # never a set-id file
    assert (root / "dir").is_dir() and not (root / "dir").is_symlink()
    assert (root / "dir" / "f").read_text() == "inside"
    assert os.readlink(root / "a.chasm-restore") == str(host / "secret")  # restored as a link


async def test_snapshot_stores_symlinks_as_links_and_skips_fifos(storage: DiskStorage, host: Path):
    await storage.create("d1", 64 * 1024**2)
    root = await storage.mount("d1")
    (root / "to-secret").symlink_to(host / "secret")
    (root / "to-zero").symlink_to("/dev/zero")
    (root / "to-host").symlink_to(host)
    os.mkfifo(root / "fifo")
    (root / "real").write_text("ok")
    snap = await storage.snapshot("d1")  # would hang on the FIFO or fill the disk from /dev/zero

    assert snap.file_count == 1 and snap.size_bytes == 2
    assert not _blobs_hold_secret(storage)
    await storage.restore("d1", snap.ref)
    assert os.readlink(root / "to-secret") == str(host / "secret")
    assert not (root / "fifo").exists()
    assert await storage.usage("d1") < 1024**2  # symlinks are counted as links, not their targets


async def test_snapshot_under_a_swapping_loop_never_reads_host_files(storage: DiskStorage, host: Path):
    await storage.create("d1", 64 * 1024**2)
    root = await storage.mount("d1")
    variants = host.parent / "variants"
    variants.mkdir()
    (variants / "file").write_bytes(b"harmless")
    (variants / "link-secret").symlink_to(host / "secret")
    (variants / "link-zero").symlink_to("/dev/zero")
    os.mkfifo(variants / "fifo-named")
    fifo_link = variants / "link-fifo"
    fifo_link.symlink_to(variants / "fifo-named")
    (root / "victim").write_bytes(b"harmless")
    before = _host_state(host)

    with _swapping(
        root, "victim", [variants / "file", variants / "link-secret", variants / "link-zero", fifo_link]
    ) as swaps:
        refs = []
        while len(refs) < 25 or (swaps[0] < 25 and len(refs) < 500):
            refs.append(await storage.snapshot("d1"))
        for ref in refs[:5]:
            with contextlib.suppress(StorageError):  # the loop may fight the restore; never escapes
                await storage.restore("d1", ref.ref)
    assert swaps[0] >= 25
    assert not _blobs_hold_secret(storage)
    # Only the harmless copies were ever read: nothing from /dev/zero, a FIFO or the secret.
    assert all(blob.stat().st_size <= len(b"harmless") for blob in storage.snapshots.blobs.glob("??/*"))
    assert _host_state(host) == before


async def test_restore_under_a_swapping_loop_never_writes_host_files(storage: DiskStorage, host: Path):
    await storage.create("d1", 64 * 1024**2)
    root = await storage.mount("d1")
    (root / "dir").mkdir()
    for i in range(50):
        (root / "dir" / f"f{i}").write_bytes(b"x" * 100)
    snap = await storage.snapshot("d1")
    variants = host.parent / "variants"
    variants.mkdir()
    (variants / "link-host").symlink_to(host)
    (variants / "emptydir").mkdir()
    before = _host_state(host)

    with _swapping(root, "dir", [variants / "link-host", variants / "emptydir"]) as swaps:
        for attempt in range(1000):  # until the loop has really raced the restores
            # A sandbox fighting its own restore may make it fail (cleanly); it never escapes.
            with contextlib.suppress(StorageError):
                await storage.restore("d1", snap.ref)
            if attempt >= 10 and swaps[0] >= 10:
                break
    assert swaps[0] >= 10
    assert _host_state(host) == before  # nothing written into, chmodded or timed in the host dir
    await storage.restore("d1", snap.ref)
    assert sorted(p.name for p in (root / "dir").iterdir()) == sorted(f"f{i}" for i in range(50))


async def test_clone_and_chown_copy_links_as_links(storage: DiskStorage, host: Path):
    await storage.create("src", 64 * 1024**2)
    root = await storage.mount("src")
    (root / "to-secret").symlink_to(host / "secret")
    (root / "to-host").symlink_to(host)
    (root / "suid").write_text("x")
    (root / "suid").chmod(0o6755)
    os.mkfifo(root / "fifo")
    before = _host_state(host)
    await storage.clone("src", "copy", 64 * 1024**2)
    copy = await storage.mount("copy")
    assert os.readlink(copy / "to-secret") == str(host / "secret")
    assert (copy / "to-host").is_symlink()
    assert stat.S_IMODE((copy / "suid").stat().st_mode) == 0o755
    assert not (copy / "fifo").exists()

    hostfs.chown_tree(copy, 4242)
    assert (copy / "suid").stat().st_uid == 4242
    assert os.lstat(copy / "to-secret").st_uid == 4242
    assert _host_state(host) == before  # the link's target kept its owner


async def test_import_never_writes_through_planted_entries(tmp_path: Path, host: Path):
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "README").write_text("from the repository\n")
    (repo / "sub").mkdir()
    (repo / "sub" / "code.py").write_text("print(1)\n")
    git = ["git", "-C", str(repo), "-c", "user.email=t@t", "-c", "user.name=t"]
    subprocess.run([*git[:3], "init", "-q"], check=True)
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-qm", "init"], check=True)

    dest = tmp_path / "ws" / "mnt"
    dest.mkdir(parents=True)
    (dest / ".chasm-import").symlink_to(host)  # the old staging name
    (dest / "README").symlink_to(host / "secret")
    (dest / "sub").symlink_to(host)
    before = _host_state(host)
    await clone_into(f"file://{repo}", dest, None, 60)

    assert _host_state(host) == before
    assert (dest / "README").read_text() == "from the repository\n" and not (dest / "README").is_symlink()
    assert (dest / "sub" / "code.py").read_text() == "print(1)\n" and not (dest / "sub").is_symlink()
    assert not [p for p in (tmp_path / "ws").iterdir() if p.name.startswith(".import-")]


async def test_interrupted_snapshots_leave_no_garbage(storage: DiskStorage):
    await storage.create("d1", 64 * 1024**2)
    root = await storage.mount("d1")
    (root / "kept").write_bytes(os.urandom(10_000))
    kept = await storage.snapshot("d1")
    orphan = await storage.snapshot("d1")  # a manifest whose record was never written
    (root / "big").write_bytes(os.urandom(300_000))
    store = storage.snapshots
    partial = store.blobs / ".tmp-interrupted"
    partial.write_bytes(b"y" * 100_000)  # a copy cut short by a kill
    unreferenced = store.blobs / "ab" / ("ab" + "0" * 62)
    unreferenced.parent.mkdir(exist_ok=True)
    unreferenced.write_bytes(b"z" * 50_000)
    os.utime(store.manifests / f"{orphan.ref}.json", (0, 0))

    freed = await storage.collect_garbage({kept.ref})
    assert freed >= 150_000
    assert not partial.exists() and not unreferenced.exists()
    assert not (store.manifests / f"{orphan.ref}.json").exists()
    (root / "kept").unlink()
    await storage.restore("d1", kept.ref)  # what a recorded snapshot needs is still there
    assert (root / "kept").stat().st_size == 10_000


@pytest.mark.parametrize("victim", ["link-secret", "fifo", "suid"])
async def test_restore_of_a_file_under_a_swapping_loop_never_touches_the_host(
    storage: DiskStorage, host: Path, victim: str
):
    """The restored entry is a file the sandbox keeps swapping for a symlink to a host file, a
    FIFO, or a set-user-id file: the restore writes the workspace's copy, nothing else."""
    await storage.create("d1", 64 * 1024**2)
    root = await storage.mount("d1")
    (root / "a").write_bytes(b"snapshotted")
    (root / "a").chmod(0o4755)
    snap = await storage.snapshot("d1")
    variants = host.parent / "variants"
    variants.mkdir()
    (variants / "link-secret").symlink_to(host / "secret")
    os.mkfifo(variants / "fifo")
    (variants / "suid").write_bytes(b"planted")
    (variants / "suid").chmod(0o6755)
    before = _host_state(host)

    with _swapping(root, "a", [variants / victim, variants / "link-secret"]) as swaps:
        for attempt in range(2000):  # until the loop has really raced the restores
            with contextlib.suppress(StorageError):
                await storage.restore("d1", snap.ref)
            if attempt >= 10 and swaps[0] >= 20:
                break
    assert swaps[0] >= 20
    assert _host_state(host) == before  # the secret was neither written, chmodded nor timed
    await storage.restore("d1", snap.ref)
    assert (root / "a").read_bytes() == b"snapshotted" and not (root / "a").is_symlink()
    assert stat.S_IMODE((root / "a").stat().st_mode) == 0o755  # the set-user-id bit never lands


async def test_delete_and_usage_never_follow_planted_links(storage: DiskStorage, host: Path):
    await storage.create("d1", 64 * 1024**2)
    root = await storage.mount("d1")
    (root / "to-host").symlink_to(host)
    (root / "to-secret").symlink_to(host / "secret")
    (root / "to-usr").symlink_to("/usr")  # gigabytes, if a measurement followed it
    (root / "dir").mkdir()
    (root / "dir" / "deep").symlink_to(host)
    os.mkfifo(root / "fifo")
    before = _host_state(host)

    assert await storage.usage("d1") < 1024**2
    await storage.delete("d1")
    assert not (storage.base / "d1").exists()
    assert _host_state(host) == before and (host / "secret").read_bytes() == SECRET


def _nest(root: Path, depth: int, leaf: Path) -> None:
    """`root/d/d/.../d` `depth` levels deep (what `while mkdir d && cd d; do :; done` makes),
    with a symlink to `leaf` at the bottom."""
    fd = os.open(root, os.O_RDONLY)
    for _ in range(depth):
        os.mkdir("d", dir_fd=fd)
        deeper = os.open("d", os.O_RDONLY, dir_fd=fd)
        os.close(fd)
        fd = deeper
    os.symlink(leaf, "to-host", dir_fd=fd)
    os.close(fd)


async def test_a_tree_nested_thousands_deep_is_refused_cleanly_and_still_removed(
    storage: DiskStorage, host: Path
):
    """A walk holds a directory fd per level: a tree 3000 levels deep must not run the server out
    of descriptors or recursion. Snapshots and clones refuse it (422), usage skips what is too
    deep, and restore and delete remove it whatever its depth."""
    await storage.create("d1", 64 * 1024**2)
    root = await storage.mount("d1")
    (root / "kept").write_text("kept")
    clean = await storage.snapshot("d1")
    _nest(root, 3000, host)
    before = _host_state(host)
    fds = len(os.listdir("/proc/self/fd"))

    with pytest.raises(hostfs.TreeTooDeep) as refused:
        await storage.snapshot("d1")
    assert refused.value.status_code == 422 and "256 levels" in str(refused.value)
    with pytest.raises(hostfs.TreeTooDeep):
        await storage.clone("d1", "copy", 64 * 1024**2)
    assert not (storage.base / "copy").exists()
    assert await storage.usage("d1") < 64 * 1024**2
    assert len(os.listdir("/proc/self/fd")) <= fds  # every directory fd was closed

    await storage.restore("d1", clean.ref)  # the deep tree is not in the snapshot: removed
    assert sorted(p.name for p in root.iterdir()) == ["kept"]
    assert not [p for p in root.iterdir() if p.name.startswith(".chasm-rm-")]
    _nest(root, 3000, host)
    await storage.delete("d1")
    assert not (storage.base / "d1").exists()
    assert _host_state(host) == before
