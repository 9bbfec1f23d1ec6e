"""Registered root filesystems: `chasm images add|list|remove`, safe extraction, sandboxes on them."""

from __future__ import annotations

import io
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from chasm.cli.main import app
from chasm.config import Settings
from chasm.kit.errors import BadRequest
from chasm.sandbox import images
from chasm.sandbox.drivers.base import SandboxSpec, UnknownImage
from chasm.sandbox.drivers.bubblewrap import BubblewrapDriver

pytestmark = pytest.mark.sandbox


def _mini_rootfs(root: Path) -> Path:
    """A root filesystem with only a shell and `sleep` (and the libraries they load)."""
    for binary, name in (("/usr/bin/dash", "sh"), ("/usr/bin/sleep", "sleep"), ("/usr/bin/cat", "cat")):
        (root / "bin").mkdir(parents=True, exist_ok=True)
        shutil.copy2(binary, root / "bin" / name)
        ldd = subprocess.run(["ldd", binary], capture_output=True, text=True, check=True).stdout
        for lib in (part for part in ldd.split() if part.startswith("/")):
            target = root / lib.lstrip("/")
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(lib, target)
    (root / "etc").mkdir(exist_ok=True)
    (root / "etc" / "motd").write_text("from the image\n")
    return root


async def test_sandbox_runs_on_a_registered_image(tmp_path: Path):
    settings = Settings(data_dir=tmp_path / "data")
    images.add(settings, "mini", _mini_rootfs(tmp_path / "src"))
    with pytest.raises(UnknownImage) as excinfo:
        images.resolve(settings, "nope")
    assert excinfo.value.status_code == 400 and excinfo.value.code == "unknown_image"
    driver = BubblewrapDriver(settings)
    workspace = tmp_path / "ws"
    await driver.start(
        SandboxSpec(session_id="img", workspace_dir=workspace, image_root=images.resolve(settings, "mini"))
    )
    try:
        result = await driver.exec(
            "img",
            "cat /etc/motd; echo hi > /workspace/f; [ -e /usr/bin/python3 ] || echo no-host-usr; "
            "echo x > /bin/new",
        )
        assert result.output.startswith("from the image\nno-host-usr\n")
        assert "Read-only file system" in result.output
        assert (workspace / "f").read_text() == "hi\n"
    finally:
        await driver.stop("img")


def test_tarball_members_cannot_escape(tmp_path: Path):
    settings = Settings(data_dir=tmp_path / "data")
    evil = tmp_path / "evil.tar"
    with tarfile.open(evil, "w") as tar:
        info = tarfile.TarInfo("../../escaped")
        data = b"x"
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    with pytest.raises(BadRequest):
        images.add(settings, "evil", evil)
    assert not (tmp_path / "escaped").exists() and not (tmp_path / "data" / "escaped").exists()
    assert images.list_images(settings) == []


def test_cli_adds_lists_and_removes_images(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    from chasm.config import get_settings

    monkeypatch.setenv("CHASM_DATA_DIR", str(tmp_path / "data"))
    get_settings.cache_clear()
    rootfs = _mini_rootfs(tmp_path / "src")
    tarball = tmp_path / "mini.tar.gz"
    with tarfile.open(tarball, "w:gz") as tar:
        tar.add(rootfs, arcname=".")
    runner = CliRunner()
    try:
        added = runner.invoke(app, ["images", "add", "mini", str(tarball)])
        assert added.exit_code == 0, added.output
        assert (tmp_path / "data" / "images" / "mini" / "rootfs" / "bin" / "sh").exists()
        assert runner.invoke(app, ["images", "add", "mini", str(rootfs)]).exit_code == 1  # exists already
        listed = runner.invoke(app, ["images", "list"])
        assert listed.output.startswith("mini\t")
        assert runner.invoke(app, ["images", "remove", "mini"]).exit_code == 0
        assert runner.invoke(app, ["images", "list"]).output == ""
        assert runner.invoke(app, ["images", "remove", "mini"]).exit_code == 1
    finally:
        get_settings.cache_clear()
