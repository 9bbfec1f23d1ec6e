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

Depth is bounded too: a walk holds one directory fd per level, so a tree nested thousands of
levels deep (a loop of `mkdir d; cd d` is enough) would run the server out of descriptors or
recursion. Walks and copies refuse a tree deeper than `MAX_DEPTH` (`TreeTooDeep`), and `remove`
deletes any depth while holding at most `REMOVE_DEPTH` fds: a directory found that deep is first
moved up beside the one being removed (a rename within the tree), then removed in its turn.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import os
import stat
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from chasm.kit.errors import ChasmError

CHUNK = 1024 * 1024
DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
READ_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC
CREATE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
SAFE_MODE_BITS = 0o1777  # permission bits and sticky; never set-user-id or set-group-id
# Errors meaning "the entry changed under us" (swapped for a symlink or another type, removed).
VANISHED = (errno.ENOENT, errno.ELOOP, errno.ENOTDIR, errno.EINVAL, errno.ENXIO)
MAX_DEPTH = 256  # directory levels a walk or copy follows (one open fd each)
REMOVE_DEPTH = 32  # directory levels `remove` holds open before it moves the rest up


class NotRegularFile(OSError):
    """The entry is not (or no longer) a regular file."""


class TreeTooDeep(ChasmError):
    status_code = 422
    code = "tree_too_deep"

    def __init__(self, path: str) -> None:
        super().__init__(
            f"the workspace has directories nested more than {MAX_DEPTH} levels deep ({path[:200]}...); "
            "remove or flatten them first"
        )


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


def walk(rootfd: int) -> Iterator[tuple[str, int, Entry]]:
    """(relative path, parent directory fd, entry) for every entry below `rootfd`, parents before
    their children. A directory swapped for something else before it is opened is skipped; one
    more than `MAX_DEPTH` levels down raises `TreeTooDeep`."""
    stack: list[tuple[int, str, Iterator[Entry]]] = [(rootfd, "", iter(listdir(rootfd)))]
    try:
        while stack:
            dirfd, prefix, entries = stack[-1]
            entry = next(entries, None)
            if entry is None:
                stack.pop()
                if dirfd != rootfd:
                    os.close(dirfd)
                continue
            rel = f"{prefix}{entry.name}"
            yield rel, dirfd, entry
            if entry.kind != "dir":
                continue
            if len(stack) > MAX_DEPTH:
                raise TreeTooDeep(rel)
            try:
                fd = open_dir(dirfd, entry.name)
            except OSError as exc:
                if exc.errno in VANISHED:
                    continue
                raise
            try:
                stack.append((fd, rel + "/", iter(listdir(fd))))
            except BaseException:
                os.close(fd)
                raise
    finally:
        for dirfd, _, _ in stack:
            if dirfd != rootfd:
                os.close(dirfd)


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
    """Remove the entry `name` of `dirfd` whatever it is (a directory with its contents, at any
    depth; by fds, never following a symlink)."""
    try:
        st = os.stat(name, dir_fd=dirfd, follow_symlinks=False)
    except FileNotFoundError:
        return
    if not stat.S_ISDIR(st.st_mode):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(name, dir_fd=dirfd)
        return
    pending = [name]
    while pending:  # directories moved up from deep down, removed in their turn
        _remove_dir(dirfd, pending.pop(), dirfd, 1, pending)


def _remove_dir(parent: int, name: str, top: int, depth: int, pending: list[str]) -> None:
    try:
        fd = open_dir(parent, name)
    except OSError as exc:
        if exc.errno in VANISHED:  # gone, or swapped for a file or symlink: unlink that
            with contextlib.suppress(FileNotFoundError, IsADirectoryError):
                os.unlink(name, dir_fd=parent)
            return
        raise
    try:
        for _ in range(5):  # sandbox code may add entries meanwhile
            for entry in listdir(fd):
                if entry.kind != "dir":
                    with contextlib.suppress(FileNotFoundError, IsADirectoryError):
                        os.unlink(entry.name, dir_fd=fd)
                elif depth < REMOVE_DEPTH:
                    _remove_dir(fd, entry.name, top, depth + 1, pending)
                else:
                    moved = f".chasm-rm-{uuid.uuid4().hex}"
                    with contextlib.suppress(FileNotFoundError):
                        os.rename(entry.name, moved, src_dir_fd=fd, dst_dir_fd=top)
                        pending.append(moved)
            try:
                os.rmdir(name, dir_fd=parent)
                return
            except FileNotFoundError:
                return
            except OSError as exc:
                if exc.errno != errno.ENOTEMPTY:
                    raise
        os.rmdir(name, dir_fd=parent)
    finally:
        os.close(fd)


def remove_path(path: Path) -> None:
    """Remove `path` (a server-owned path, such as a disk's directory) and everything below it."""
    parent = open_root(path.parent)
    try:
        remove(parent, path.name)
    finally:
        os.close(parent)


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
    """Bytes allocated by every entry below `root` (its own blocks, links not followed; what is
    deeper than `MAX_DEPTH` is not counted)."""
    rootfd = open_root(root)
    total = 0
    try:
        for _, _, entry in walk(rootfd):
            total += entry.st.st_blocks * 512
    except TreeTooDeep:
        pass
    finally:
        os.close(rootfd)
    return total


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


def _copy_dir(srcfd: int, dstfd: int, owner: int | None, depth: int = 1) -> None:
    for entry in listdir(srcfd):
        if entry.kind == "dir" and depth > MAX_DEPTH:
            raise TreeTooDeep(entry.name)
        mode, mtime = stat.S_IMODE(entry.st.st_mode), entry.st.st_mtime_ns
        try:
            if entry.kind == "dir":
                child_src = open_dir(srcfd, entry.name)
                try:
                    child_dst = ensure_dir(dstfd, entry.name)
                    try:
                        _copy_dir(child_src, child_dst, owner, depth + 1)
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
