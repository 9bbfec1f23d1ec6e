"""What a bubblewrap sandbox sees: its root filesystem, a minimal /etc, /workspace, /tmp.

bwrap runs as the unprivileged sandbox uid, so every path it binds must be reachable by that uid.
The data directory usually is not (/root is 0700), so the driver stages what the sandbox needs in
a per-sandbox runtime directory: generated /etc files, and bind mounts of the workspace disk and
of the image's root filesystem. Nothing else of the host's data directory is ever bound.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import threading
from pathlib import Path

from chasm.sandbox.drivers.base import SandboxSpec
from chasm.sandbox.drivers.mounts import mounts_under

MS_RDONLY = 0x1
MS_REMOUNT = 0x20
MS_BIND = 0x1000
MS_REC = 0x4000
MNT_DETACH = 0x2
_libc = ctypes.CDLL(None, use_errno=True)
_etc_lock = threading.Lock()

DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
SYSTEM_DIRS = ("bin", "lib", "lib32", "lib64", "libx32", "sbin")
# Host /etc entries a sandbox needs to run ordinary programs; nothing with secrets or host identity.
HOST_ETC = (
    "alternatives",
    "ld.so.cache",
    "ld.so.conf",
    "ld.so.conf.d",
    "ssl",
    "ca-certificates",
    "ca-certificates.conf",
    "localtime",
    "mime.types",
    "protocols",
    "services",
    "profile",
    "bash.bashrc",
    "inputrc",
    "terminfo",
    "gitconfig",
    "python3",
    "python3.11",
    "magic",
    "magic.mime",
    "vim",
)
GENERATED_ETC = ("passwd", "group", "hosts", "hostname", "resolv.conf", "nsswitch.conf")
IMAGE_MOUNTPOINTS = ("workspace", "tmp", "proc", "dev", "etc")


def _check(result: int, what: str) -> None:
    if result != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def bind_mount(source: Path, target: Path, *, readonly: bool = False) -> None:
    _check(_libc.mount(str(source).encode(), str(target).encode(), None, MS_BIND | MS_REC, None), "bind")
    if readonly:
        flags = MS_BIND | MS_REMOUNT | MS_RDONLY
        _check(_libc.mount(b"none", str(target).encode(), None, flags, None), "remount read-only")


def unmount(target: Path) -> None:
    """Lazily detach a staging mount (no error when nothing is mounted there)."""
    _libc.umount2(str(target).encode(), MNT_DETACH)


def is_mountpoint(path: Path) -> bool:
    try:
        return os.path.ismount(path)
    except OSError:
        return False


def etc_files(uid: int, network_mode: str) -> dict[str, str]:
    nameserver = "nameserver 10.0.2.3\n" if network_mode == "direct" else ""
    return {
        "passwd": (
            "root:x:0:0:root:/root:/usr/sbin/nologin\n"
            f"user:x:{uid}:{uid}:sandbox user:/workspace:/bin/bash\n"
            "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n"
        ),
        "group": f"root:x:0:\nuser:x:{uid}:\nnogroup:x:65534:\n",
        "hosts": "127.0.0.1\tlocalhost sandbox\n::1\tlocalhost ip6-localhost ip6-loopback\n",
        "hostname": "sandbox\n",
        "resolv.conf": nameserver,
        "nsswitch.conf": "passwd: files\ngroup: files\nshadow: files\nhosts: files dns\n",
    }


def etc_tree(run_root: Path, uid: int, network_mode: str) -> Path:
    """The sandbox's /etc: copies of the harmless host entries plus the generated files, built
    once per runtime directory and network mode, so that a sandbox binds one directory instead
    of two dozen files (each bind costs bwrap time at every start)."""
    tree = run_root / f".etc-{'direct' if network_mode == 'direct' else 'none'}"
    if (tree / ".complete").exists():
        return tree
    with _etc_lock:  # sandboxes start in parallel threads; other processes race on the rename
        if (tree / ".complete").exists():
            return tree
        return _build_etc(tree, uid, network_mode)


def _build_etc(tree: Path, uid: int, network_mode: str) -> Path:
    partial = tree.with_name(f"{tree.name}.{os.getpid()}.partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    for name in HOST_ETC:
        source = Path("/etc") / name
        if source.is_dir() and not source.is_symlink():
            shutil.copytree(source, partial / name, symlinks=True, ignore=shutil.ignore_patterns("private"))
        elif source.exists() or source.is_symlink():
            shutil.copy2(source, partial / name, follow_symlinks=False)
    for name, content in etc_files(uid, network_mode).items():
        (partial / name).write_text(content)
    (partial / ".complete").touch()
    os.chmod(partial, 0o755)
    if not (tree / ".complete").exists():
        shutil.rmtree(tree, ignore_errors=True)  # left incomplete by a crash
    try:
        partial.rename(tree)
    except OSError:  # another server process built it meanwhile
        shutil.rmtree(partial, ignore_errors=True)
    return tree


def stage(run_dir: Path, spec: SandboxSpec, staged: bool) -> tuple[Path, Path | None]:
    """As root, bind the workspace and the image where bwrap (running as the sandbox uid) can
    reach them. Returns the workspace and image paths to hand to bwrap."""
    if not staged:
        return spec.workspace_dir, spec.image_root
    workspace = run_dir / "workspace"
    workspace.mkdir(exist_ok=True)
    if not is_mountpoint(workspace):
        bind_mount(spec.workspace_dir, workspace)
    image: Path | None = None
    if spec.image_root is not None:
        image = run_dir / "root"
        image.mkdir(exist_ok=True)
        if not is_mountpoint(image):
            bind_mount(spec.image_root, image, readonly=True)
    return workspace, image


def unstage(run_dir: Path) -> bool:
    """Detach every mount below the runtime directory (two may be stacked on one mount point).
    False when one stays: the directory must then be kept, since removing it would reach into
    the mounted workspace and delete its files."""
    for _ in range(8):
        targets = mounts_under(run_dir)
        if not targets:
            return True
        for target in targets:
            unmount(target)
    return not mounts_under(run_dir)


def bwrap_args(
    etc: Path,
    workspace: Path,
    image: Path | None,
    uid: int,
    tmp_bytes: int,
    shm_bytes: int,
    json_fd: int,
    seccomp_fd: int | None,
) -> list[str]:
    """bwrap's arguments up to (not including) the command.

    The only writable filesystems are /workspace, /tmp and /dev/shm, each capped: bwrap's own
    tmpfs under / and /dev (uncapped, owned by the sandbox user) are made read-only once every
    mount point on them exists."""
    args = [
        "--unshare-all",
        "--unshare-user",
        "--uid",
        str(uid),
        "--gid",
        str(uid),
        "--cap-drop",
        "ALL",
        "--hostname",
        "sandbox",
        "--json-status-fd",
        str(json_fd),
    ]
    if seccomp_fd is not None:
        args += ["--seccomp", str(seccomp_fd)]
    if image is None:
        args += ["--ro-bind", "/usr", "/usr"]
        for name in SYSTEM_DIRS:
            host = Path("/") / name
            if host.is_symlink():
                args += ["--symlink", os.readlink(host), f"/{name}"]
            elif host.is_dir():
                args += ["--ro-bind", str(host), f"/{name}"]
        args += ["--ro-bind", str(etc), "/etc"]
    else:
        args += ["--ro-bind", str(image), "/"]
        for name in GENERATED_ETC:
            args += ["--ro-bind", str(etc / name), f"/etc/{name}"]
    args += [
        "--bind",
        str(workspace),
        "/workspace",
        "--perms",
        "1777",
        "--size",
        str(tmp_bytes),
        "--tmpfs",
        "/tmp",
        "--proc",
        "/proc",
        "--dev",
        "/dev",
        "--perms",
        "1777",
        "--size",
        str(shm_bytes),
        "--tmpfs",
        "/dev/shm",
        "--remount-ro",
        "/dev",
        "--remount-ro",
        "/",
        "--chdir",
        "/workspace",
        "--setenv",
        "HOME",
        "/workspace",
    ]
    return args
