"""Cloning a git repository into a workspace disk (the `workspace.import` job)."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import stat
import uuid
from pathlib import Path

from chasm.kit import hostfs
from chasm.kit.errors import BadRequest

OWNER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{0,38}/[A-Za-z0-9._-]{1,100}$")
REMOTE_URL = re.compile(r"^(https?|ssh|git)://[^\s]+$|^[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:[^\s]+$")


class InvalidRepository(BadRequest):
    code = "invalid_repository"


def repository_url(selector: str, github_base_url: str) -> str:
    """The clone URL for `owner/name` (on the configured GitHub base) or a remote git URL.

    Local paths and file:// URLs are refused unless they come from the configured base URL: a
    caller must not be able to copy the server's own files into a workspace.
    """
    selector = selector.strip()
    if selector.startswith("https://github.com/") and github_base_url.rstrip("/") != "https://github.com":
        selector = selector.removeprefix("https://github.com/").removesuffix(".git")
    if OWNER_NAME.match(selector):
        return f"{github_base_url.rstrip('/')}/{selector.removesuffix('.git')}.git"
    if REMOTE_URL.match(selector) and not selector.startswith("ext::"):
        return selector
    raise InvalidRepository(
        f"'{selector}' is neither owner/name nor a remote git URL (https://, ssh://, git://, user@host:path)"
    )


def _allowed_protocols(url: str) -> str:
    return "file" if url.startswith("file://") else "https:http:ssh:git"


async def clone_into(url: str, dest: Path, ref: str | None, timeout_s: int) -> None:
    """Clone `url` into the (possibly non-empty) directory `dest`, owned like `dest`.

    `dest` is a workspace tree that sandbox code can change, so git never writes into it: the
    clone is made in a private directory beside it (the server's own), then copied in with
    `chasm.kit.hostfs` (no path below `dest` is followed)."""
    staging = dest.parent / f".import-{uuid.uuid4().hex}"
    staging.mkdir(mode=0o700)
    try:
        await _git_clone(url, staging / "repo", ref, timeout_s)
        owner = os.stat(dest, follow_symlinks=False).st_uid
        await asyncio.to_thread(_merge_into, staging / "repo", dest, owner)
    finally:
        await asyncio.to_thread(shutil.rmtree, staging, True)


def _merge_into(source: Path, dest: Path, owner: int) -> None:
    """Copy the clone into `dest` (entries it also has are replaced), keeping `dest`'s own mode."""
    st = os.stat(dest, follow_symlinks=False)
    hostfs.copy_tree(source, dest, owner)
    rootfd = hostfs.open_root(dest)
    try:
        os.fchmod(rootfd, stat.S_IMODE(st.st_mode))
    finally:
        os.close(rootfd)


async def _git_clone(url: str, target: Path, ref: str | None, timeout_s: int) -> None:
    args = ["git", "clone", "--quiet", "--no-hardlinks"]
    if ref:
        args += ["--branch", ref]
    args += ["--", url, str(target)]
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(target.parent),
        "GIT_TERMINAL_PROMPT": "0",
        "GIT_ALLOW_PROTOCOL": _allowed_protocols(url),
        "GIT_CONFIG_NOSYSTEM": "1",
    }
    proc = await asyncio.create_subprocess_exec(
        *args, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    try:
        _, stderr = await asyncio.wait_for(proc.communicate(), timeout_s)
    except TimeoutError as exc:
        proc.kill()
        await proc.wait()
        raise RuntimeError(f"git clone timed out after {timeout_s}s") from exc
    if proc.returncode != 0:
        message = stderr.decode(errors="replace").strip().splitlines()
        raise RuntimeError(f"git clone failed: {message[-1] if message else proc.returncode}")
