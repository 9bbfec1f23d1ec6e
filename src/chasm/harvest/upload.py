"""Harvest of uploaded transcript files: how a user who is not the server's administrator (or a
laptop, through `chasm harvest --remote`) brings chats into a shared server's library.

The upload (plain files, or .zip / .tar[.gz] archives) is unpacked into a private temporary folder
and never anywhere else: every member name is checked (relative, no `..`, no empty or drive
components), only regular files and folders are written (links, devices and FIFOs refuse the
upload), every file is created with O_EXCL|O_NOFOLLOW, and the bytes written are counted against a
cap whatever the archive claims. The source's own parser then runs over that folder, the chats are
stored like a harvest's (same dedupe: a chat is known by its provider and source id, a file by its
path under the upload), and the folder is deleted.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
import tarfile
import tempfile
import time
import zipfile
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path, PurePosixPath
from typing import IO, Any

from chasm.harvest.model import ParseOutcome, Resume, SourceUnit
from chasm.harvest.report import UPLOAD_KEY_PREFIX, SourcePlan
from chasm.harvest.spec import HarvestSource
from chasm.kit.errors import InvalidUpload, PayloadTooLarge

ARCHIVE_SUFFIXES = (".zip", ".tar", ".tar.gz", ".tgz")
MAX_MEMBERS = 50_000
CHUNK = 1024 * 1024
STALE_AFTER_S = 24 * 3600


@dataclass
class Budget:
    """Bytes and files an upload may still unpack to."""

    bytes_left: int
    members_left: int = MAX_MEMBERS

    def take_member(self) -> None:
        self.members_left -= 1
        if self.members_left < 0:
            raise PayloadTooLarge(f"The upload holds more than {MAX_MEMBERS} files", code="upload_too_large")

    def take_bytes(self, n: int) -> None:
        self.bytes_left -= n
        if self.bytes_left < 0:
            raise PayloadTooLarge(
                "The upload unpacks to more than the server accepts", code="upload_too_large"
            )


def safe_parts(name: str) -> list[str]:
    """The components of a member name, refused unless it is a plain relative path."""
    cleaned = name.replace("\\", "/")
    if cleaned.startswith("/") or (len(cleaned) > 1 and cleaned[1] == ":"):
        raise InvalidUpload(f"Refused absolute path in upload: {name!r}")
    parts = [p for p in PurePosixPath(cleaned).parts if p not in ("", ".")]
    if not parts:
        raise InvalidUpload(f"Refused empty path in upload: {name!r}")
    for part in parts:
        if part == ".." or "\x00" in part or ":" in part:
            raise InvalidUpload(f"Refused path in upload: {name!r}")
    return parts


def _target(root: Path, parts: list[str]) -> Path:
    parent = root.joinpath(*parts[:-1])
    parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    return parent / parts[-1]


def _write(root: Path, name: str, data: IO[bytes], budget: Budget) -> None:
    budget.take_member()
    parts = safe_parts(name)
    try:
        fd = os.open(_target(root, parts), os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    except OSError as exc:  # the name twice, or a file where a folder of its path must go
        raise InvalidUpload(f"Cannot unpack {name!r}: {exc.strerror}") from exc
    with os.fdopen(fd, "wb") as out:
        while chunk := data.read(CHUNK):
            budget.take_bytes(len(chunk))
            out.write(chunk)


def _extract_zip(root: Path, data: IO[bytes], budget: Budget) -> None:
    try:
        archive = zipfile.ZipFile(data)
    except zipfile.BadZipFile as exc:
        raise InvalidUpload(f"Not a zip archive: {exc}") from exc
    with archive:
        for info in archive.infolist():
            kind = stat.S_IFMT(info.external_attr >> 16)  # 0 when the archiver recorded no Unix type
            if info.is_dir():
                safe_parts(info.filename)
                continue
            if kind and kind != stat.S_IFREG:
                raise InvalidUpload(f"Refused {info.filename!r}: only regular files may be uploaded")
            try:
                with archive.open(info) as member:
                    _write(root, info.filename, member, budget)
            except (zipfile.BadZipFile, zlib.error, EOFError, RuntimeError, NotImplementedError) as exc:
                # corrupt data, a bad CRC, an encrypted member or an unsupported compression
                raise InvalidUpload(f"Cannot read {info.filename!r} from the zip archive: {exc}") from exc


def _extract_tar(root: Path, data: IO[bytes], budget: Budget) -> None:
    try:
        archive = tarfile.open(fileobj=data, mode="r:*")  # noqa: SIM115  (closed by the with below)
    except tarfile.TarError as exc:
        raise InvalidUpload(f"Not a tar archive: {exc}") from exc
    with archive:
        try:
            for member in archive:
                if member.isdir():
                    safe_parts(member.name)
                    continue
                if not member.isreg():
                    raise InvalidUpload(f"Refused {member.name!r}: only regular files may be uploaded")
                extracted = archive.extractfile(member)
                assert extracted is not None
                with extracted:
                    _write(root, member.name, extracted, budget)
        except (tarfile.TarError, EOFError, zlib.error, OSError) as exc:  # OSError: bad gzip/bz2 data
            raise InvalidUpload(f"Broken tar archive: {exc}") from exc


def is_archive(filename: str) -> bool:
    return filename.lower().endswith(ARCHIVE_SUFFIXES)


def unpack(root: Path, filename: str, data: IO[bytes], budget: Budget) -> None:
    """One uploaded file into `root`: archives are unpacked, other files kept under their name."""
    lowered = filename.lower()
    if lowered.endswith(".zip"):
        _extract_zip(root, data, budget)
    elif is_archive(lowered):
        _extract_tar(root, data, budget)
    else:
        _write(root, filename, data, budget)


def private_dir(data_dir: Path) -> Path:
    """A new folder only this process's user can enter, under the data dir. Folders an earlier
    upload left behind (the server stopped mid-upload) are removed once a day old."""
    base = data_dir / "tmp"
    base.mkdir(parents=True, exist_ok=True, mode=0o700)
    stale = time.time() - STALE_AFTER_S
    for leftover in base.glob("upload-*"):
        with contextlib.suppress(OSError):
            if leftover.lstat().st_mtime < stale:
                remove(leftover)
    return Path(tempfile.mkdtemp(prefix="upload-", dir=base))


def remove(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)


class UploadedSource:
    """A source run over an unpacked upload: unit keys and source paths are made relative to the
    upload (stable across uploads, and no server path reaches the library). When discovery claims
    no file at all (transcripts renamed on upload), each file is parsed as a unit of its own."""

    def __init__(self, inner: HarvestSource, upload_root: Path) -> None:
        self.inner = inner
        self.name = inner.name
        self.display_name = inner.display_name
        self.opt_in = True
        self.upload_root = upload_root
        self._units: dict[str, SourceUnit] = {}

    def default_roots(self, platform: str, home: Path, env: Any) -> list[Path]:
        return []

    def relative(self, path: str | Path) -> str:
        text = str(path)
        prefix = f"{self.upload_root}{os.sep}"
        return text[len(prefix) :] if text.startswith(prefix) else Path(text).name

    def discover(self, roots: Iterable[Path]) -> Iterator[SourceUnit]:
        roots = list(roots)
        found = list(self.inner.discover(roots))
        if not found:
            found = [
                SourceUnit(key=str(path), paths=[path])
                for root in roots
                for path in (sorted(root.rglob("*")) if root.is_dir() else [])
                if path.is_file()
            ]
        for unit in found:
            key = UPLOAD_KEY_PREFIX + self.relative(unit.key)
            self._units[key] = unit
            # Never resumed: an upload writes its files afresh, so each is parsed whole.
            yield SourceUnit(key=key, paths=unit.paths, resumable=False)

    def scrub(self, value: Any) -> Any:
        """`value` with the upload folder's path taken out of every string in it: a source that
        names a chat's folder after its file (Aider, Cline...) or quotes a path in an error would
        otherwise show the server's folders."""
        if isinstance(value, str):
            return value.replace(f"{self.upload_root}{os.sep}", "").replace(str(self.upload_root), ".")
        if isinstance(value, dict):
            return {key: self.scrub(item) for key, item in value.items()}
        if isinstance(value, list):
            return [self.scrub(item) for item in value]
        return value

    def parse(self, unit: SourceUnit, resume: Resume | None = None) -> ParseOutcome:
        original = self._units.get(unit.key, unit)
        outcome = self.inner.parse(replace(original, resumable=False), None)
        for chat in outcome.chats:
            if chat.source_path:
                chat.source_path = self.relative(chat.source_path)
            chat.workspace_path = self.scrub(chat.workspace_path)
            chat.metadata = self.scrub(chat.metadata)
        for issue in outcome.issues:
            issue.path = self.relative(issue.path)
            issue.message = self.scrub(issue.message)
        return outcome


def plans_for(sources: dict[str, HarvestSource], roots: dict[str, Path]) -> list[SourcePlan]:
    """One plan per uploaded source, limited to the upload's units (so nothing else of the account
    is taken for missing)."""
    plans = []
    for name, root in sorted(roots.items()):
        wrapped = UploadedSource(sources[name], root.parent)
        keys = {u.key for u in wrapped.discover([root])}
        plans.append(SourcePlan(wrapped, [root], unit_keys=keys))
    return plans
