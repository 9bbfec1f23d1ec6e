"""Host-side operations on directory trees that sandbox code can write.

A sandbox can rename, replace or swap any entry of its workspace at any moment, including while
the server (as root) snapshots, restores, clones, measures or deletes the tree. So nothing here
ever resolves a path through the tree: the tree's root is opened once (its path is the server's
own, under the data directory), and every entry below it is reached by name relative to an open
directory fd, with `O_NOFOLLOW` on every component. A symlink is only ever read or made as a
symlink, never followed. Regular files are opened with `O_NOFOLLOW | O_NONBLOCK` and checked with
`fstat` on the opened fd (a FIFO, device or socket swapped in after a listing is refused, and
opening a FIFO does not block). Modes, owners and times are set through fds (`fchmod`, `fchown`,
`futimens`) or with `AT_SYMLINK_NOFOLLOW` relative to a directory fd, never through a path.
Set-user-id and set-group-id bits are never written to the host.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import os
import shutil
import stat
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

CHUNK = 1024 * 1024
DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
READ_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC
CREATE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
SAFE_MODE_BITS = 0o1777  # permission bits and sticky; never set-user-id or set-group-id
# Errors meaning "the entry changed under us" (swapped for a symlink or another type, removed).
VANISHED = (errno.ENOENT, errno.ELOOP, errno.ENOTDIR, errno.EINVAL, errno.ENXIO)


class NotRegularFile(OSError):
    """The entry is not (or no longer) a regular file."""


@dataclass(frozen=True)
class Entry:
    """One entry of a directory, as listed (`lstat` relative to the directory's fd)."""

    name: str
    st: os.stat_result

    @property
    def kind(self) -> str:
        mode = self.st.st_mode
        if stat.S_ISLNK(mode):
            return "symlink"
        if stat.S_ISDIR(mode):
            return "dir"
        if stat.S_ISREG(mode):
            return "file"
        return "other"


def open_root(path: Path | str) -> int:
    """A directory fd for a tree's root. The path is the server's own (never below a tree)."""
    return os.open(path, DIR_FLAGS)


def open_dir(dirfd: int, name: str) -> int:
    """The subdirectory `name` of `dirfd`, refusing a symlink."""
    return os.open(name, DIR_FLAGS, dir_fd=dirfd)


def open_regular(dirfd: int, name: str) -> tuple[int, os.stat_result]:
    """(fd, fstat) of the regular file `name` of `dirfd`; a symlink, FIFO or device is refused."""
    fd = os.open(name, READ_FLAGS, dir_fd=dirfd)
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode):
        os.close(fd)
        raise NotRegularFile(errno.EINVAL, f"{name!r} is not a regular file")
    return fd, st


def listdir(dirfd: int) -> list[Entry]:
    """The entries of `dirfd`, sorted by name; entries removed while listing are left out."""
    entries = []
    for name in sorted(os.listdir(dirfd)):
        try:
            entries.append(Entry(name, os.stat(name, dir_fd=dirfd, follow_symlinks=False)))
        except FileNotFoundError:
            continue
    return entries


def walk(rootfd: int, prefix: str = "") -> Iterator[tuple[str, int, Entry]]:
    """(relative path, parent directory fd, entry) for every entry below `rootfd`, parents before
    their children. A directory swapped for something else before it is opened is skipped."""
    for entry in listdir(rootfd):
        rel = f"{prefix}{entry.name}"
        yield rel, rootfd, entry
        if entry.kind != "dir":
            continue
        try:
            fd = open_dir(rootfd, entry.name)
        except OSError as exc:
            if exc.errno in VANISHED:
                continue
            raise
        try:
            yield from walk(fd, rel + "/")
        finally:
            os.close(fd)


def read_into(fd: int, limit: int, sink: Callable[[bytes], object]) -> int:
    """Feed at most `limit` bytes of `fd` to `sink`; the number of bytes read. The limit (the size
    the file had when opened) keeps a file that grows while being read from pinning the reader."""
    done = 0
    while done < limit:
        chunk = os.read(fd, min(CHUNK, limit - done))
        if not chunk:
            break
        sink(chunk)
        done += len(chunk)
    return done


def write_file(
    dirfd: int,
    name: str,
    source: Callable[[Callable[[bytes], object]], object],
    mode: int,
    owner: int | None,
    mtime_ns: int | None,
) -> None:
    """Atomically make `name` in `dirfd` a regular file with the contents `source` writes.

    The contents go to a fresh temporary name created with O_EXCL (nothing planted can be reused),
    mode, owner and time are set on the fd, then the file is renamed over `name`, which replaces a
    symlink or file there without following it; a directory there is removed first."""
    tmp = f".chasm-restore-{uuid.uuid4().hex}"
    fd = os.open(tmp, CREATE_FLAGS, 0o600, dir_fd=dirfd)
    try:
        with os.fdopen(os.dup(fd), "wb", buffering=CHUNK) as fh:
            source(fh.write)
        if owner is not None:
            os.fchown(fd, owner, owner)
        os.fchmod(fd, mode & SAFE_MODE_BITS)
        if mtime_ns is not None:
            os.utime(fd, ns=(mtime_ns, mtime_ns))
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp, dir_fd=dirfd)
        raise
    finally:
        os.close(fd)
    _place(dirfd, tmp, name)


def _place(dirfd: int, tmp: str, name: str) -> None:
    """Rename `tmp` over `name` (a file or symlink there is replaced without being followed; a
    directory there, which sandbox code may put back at any time, is removed first)."""
    try:
        for _ in range(5):
            try:
                os.rename(tmp, name, src_dir_fd=dirfd, dst_dir_fd=dirfd)
                return
            except OSError as exc:
                if exc.errno not in (errno.EISDIR, errno.ENOTEMPTY, errno.EEXIST, errno.ENOTDIR):
                    raise
                remove(dirfd, name)
        os.rename(tmp, name, src_dir_fd=dirfd, dst_dir_fd=dirfd)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp, dir_fd=dirfd)
        raise


def remove(dirfd: int, name: str) -> None:
    """Remove the entry `name` of `dirfd` whatever it is (a directory with its contents)."""
    try:
        st = os.stat(name, dir_fd=dirfd, follow_symlinks=False)
    except FileNotFoundError:
        return
    if stat.S_ISDIR(st.st_mode):
        # shutil.rmtree with dir_fd walks by fds and never follows a symlink (avoids_symlink_attacks).
        shutil.rmtree(name, dir_fd=dirfd)
    else:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(name, dir_fd=dirfd)


def ensure_dir(dirfd: int, name: str) -> int:
    """An fd of the directory `name` in `dirfd`, replacing whatever else is there."""
    for _ in range(3):
        try:
            return open_dir(dirfd, name)
        except FileNotFoundError:
            pass
        except OSError as exc:
            if exc.errno not in (errno.ELOOP, errno.ENOTDIR):
                raise
            remove(dirfd, name)
        with contextlib.suppress(FileExistsError):
            os.mkdir(name, 0o700, dir_fd=dirfd)
    return open_dir(dirfd, name)


def make_symlink(dirfd: int, name: str, target: str, owner: int | None, mtime_ns: int | None) -> None:
    """Make `name` in `dirfd` the symlink `target` (never followed: only its own inode is set)."""
    tmp = f".chasm-link-{uuid.uuid4().hex}"
    os.symlink(target, tmp, dir_fd=dirfd)
    try:
        if owner is not None:
            os.chown(tmp, owner, owner, dir_fd=dirfd, follow_symlinks=False)
        if mtime_ns is not None:
            os.utime(tmp, ns=(mtime_ns, mtime_ns), dir_fd=dirfd, follow_symlinks=False)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp, dir_fd=dirfd)
        raise
    _place(dirfd, tmp, name)


def tree_bytes(root: Path) -> int:
    """Bytes allocated by every entry below `root` (its own blocks, links not followed)."""
    rootfd = open_root(root)
    try:
        return sum(entry.st.st_blocks * 512 for _, _, entry in walk(rootfd))
    finally:
        os.close(rootfd)


def chown_tree(root: Path, uid: int) -> None:
    """Give `root` and every entry below it to `uid` (symlinks themselves, never their targets)."""
    rootfd = open_root(root)
    try:
        os.fchown(rootfd, uid, uid)
        for _, parent, entry in walk(rootfd):
            with contextlib.suppress(FileNotFoundError):
                os.chown(entry.name, uid, uid, dir_fd=parent, follow_symlinks=False)
    finally:
        os.close(rootfd)


def copy_tree(source: Path, target: Path, owner: int | None) -> None:
    """Copy every directory, regular file and symlink (as a symlink) of `source` into `target`,
    with modes (less set-id bits) and modification times; other entry types are skipped."""
    srcfd, dstfd = open_root(source), open_root(target)
    try:
        _copy_dir(srcfd, dstfd, owner)
        st = os.fstat(srcfd)
        if owner is not None:
            os.fchown(dstfd, owner, owner)
        os.fchmod(dstfd, stat.S_IMODE(st.st_mode) & SAFE_MODE_BITS)
        os.utime(dstfd, ns=(st.st_mtime_ns, st.st_mtime_ns))
    finally:
        os.close(srcfd)
        os.close(dstfd)


def _copy_dir(srcfd: int, dstfd: int, owner: int | None) -> None:
    for entry in listdir(srcfd):
        mode, mtime = stat.S_IMODE(entry.st.st_mode), entry.st.st_mtime_ns
        try:
            if entry.kind == "dir":
                child_src = open_dir(srcfd, entry.name)
                try:
                    child_dst = ensure_dir(dstfd, entry.name)
                    try:
                        _copy_dir(child_src, child_dst, owner)
                        if owner is not None:
                            os.fchown(child_dst, owner, owner)
                        os.fchmod(child_dst, mode & SAFE_MODE_BITS)
                        os.utime(child_dst, ns=(mtime, mtime))
                    finally:
                        os.close(child_dst)
                finally:
                    os.close(child_src)
            elif entry.kind == "symlink":
                make_symlink(dstfd, entry.name, os.readlink(entry.name, dir_fd=srcfd), owner, mtime)
            elif entry.kind == "file":
                fd, st = open_regular(srcfd, entry.name)
                try:
                    contents = functools.partial(read_into, fd, st.st_size)
                    write_file(dstfd, entry.name, contents, mode, owner, mtime)
                finally:
                    os.close(fd)
        except OSError as exc:
            if exc.errno not in VANISHED:
                raise
