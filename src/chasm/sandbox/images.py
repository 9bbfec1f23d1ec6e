"""Registered root filesystems for sandboxes: `<data_dir>/images/<NAME>/rootfs` + `image.json`.

An image is added from a directory (copied) or a tarball (extracted member by member: absolute
names, `..`, device nodes and links pointing outside the root are refused). Mount points the
sandbox layout needs (/workspace, /tmp, /proc, /dev and the generated /etc files) are created so a
read-only root can host them.
"""

from __future__ import annotations

import json
import re
import shutil
import tarfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from chasm.config import Settings
from chasm.kit.errors import BadRequest, Conflict, NotFound
from chasm.kit.timeutil import utcnow
from chasm.sandbox.drivers.base import UnknownImage
from chasm.sandbox.drivers.layout import GENERATED_ETC, IMAGE_MOUNTPOINTS

NAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,62}")


@dataclass
class Image:
    name: str
    root: Path
    source: str
    created_at: str
    size_bytes: int


def images_dir(settings: Settings) -> Path:
    return settings.data_dir / "images"


def _check_name(name: str) -> None:
    if not NAME.fullmatch(name):
        raise BadRequest(f"Invalid image name {name!r}: lowercase letters, digits, '.', '_', '-'")


def _size(root: Path) -> int:
    return sum(p.lstat().st_size for p in root.rglob("*") if not p.is_symlink() and p.is_file())


def _safe_members(tar: tarfile.TarFile) -> list[tarfile.TarInfo]:
    members = []
    for member in tar.getmembers():
        path = PurePosixPath(member.name)
        if path.is_absolute() or ".." in path.parts:
            raise BadRequest(f"Refusing tar member {member.name!r}: it escapes the image root")
        if member.isdev():
            continue
        if member.islnk():
            target = PurePosixPath(member.linkname)
            if target.is_absolute() or ".." in target.parts:
                raise BadRequest(f"Refusing hard link {member.name!r} -> {member.linkname!r}")
        members.append(member)
    return members


def _extract(archive: Path, dest: Path) -> None:
    try:
        with tarfile.open(archive) as tar:
            members = _safe_members(tar)
            # The "tar" filter also refuses symlinks whose targets leave `dest` at extraction time.
            tar.extractall(dest, members=members, filter="tar")
    except (tarfile.TarError, OSError) as exc:
        raise BadRequest(f"Could not extract {archive}: {exc}") from exc


def _prepare_mountpoints(root: Path) -> None:
    if not (root / "bin" / "sh").exists() and not (root / "usr" / "bin" / "sh").exists():
        raise BadRequest("The image has no /bin/sh; a sandbox root needs a POSIX shell")
    for name in IMAGE_MOUNTPOINTS:
        path = root / name
        if path.is_symlink():
            path.unlink()
        path.mkdir(exist_ok=True)
    for name in GENERATED_ETC:
        path = root / "etc" / name
        if path.is_symlink():
            path.unlink()
        if not path.exists():
            path.touch()


def add(settings: Settings, name: str, source: Path) -> Image:
    """Register `source` (a directory or a tarball) as image `name`."""
    _check_name(name)
    target = images_dir(settings) / name
    if target.exists():
        raise Conflict(f"Image {name!r} already exists")
    if not source.exists():
        raise BadRequest(f"{source} does not exist")
    staging = images_dir(settings) / f".{name}.partial"
    shutil.rmtree(staging, ignore_errors=True)
    root = staging / "rootfs"
    try:
        if source.is_dir():
            shutil.copytree(source, root, symlinks=True)
        else:
            root.mkdir(parents=True)
            _extract(source, root)
        _prepare_mountpoints(root)
        image = Image(name, target / "rootfs", str(source), utcnow().isoformat(), _size(root))
        meta = {"name": name, "source": image.source, "created_at": image.created_at}
        (staging / "image.json").write_text(json.dumps({**meta, "size_bytes": image.size_bytes}))
        staging.rename(target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return image


def _load(directory: Path) -> Image | None:
    try:
        meta = json.loads((directory / "image.json").read_text())
    except (OSError, ValueError):
        return None
    return Image(
        name=meta["name"],
        root=directory / "rootfs",
        source=meta.get("source", ""),
        created_at=meta.get("created_at", ""),
        size_bytes=int(meta.get("size_bytes", 0)),
    )


def list_images(settings: Settings) -> list[Image]:
    base = images_dir(settings)
    if not base.is_dir():
        return []
    found = (_load(d) for d in sorted(base.iterdir()) if d.is_dir() and not d.name.startswith("."))
    return [image for image in found if image is not None]


def remove(settings: Settings, name: str) -> None:
    _check_name(name)
    target = images_dir(settings) / name
    if not (target / "image.json").exists():
        raise NotFound(f"No image named {name!r}")
    shutil.rmtree(target)


def resolve(settings: Settings, name: str) -> Path:
    """The root filesystem of image `name`; an unknown name is a 400 `unknown_image`."""
    if NAME.fullmatch(name):
        image = _load(images_dir(settings) / name)
        if image is not None and image.root.is_dir():
            return image.root
    raise UnknownImage(f"Unknown image {name!r}; register it with `chasm images add`")
