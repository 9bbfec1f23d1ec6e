"""`chasm doctor`: check what this host needs to run Chasm, and say how to fix what is missing."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from chasm.config import Settings

import asyncio
import json
import shutil
import subprocess
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

import typer

CGROUP_ROOT = Path("/sys/fs/cgroup")
CGROUP_CONTROLLERS = ("memory", "pids", "cpu")
USERNS_FIX = (
    "sysctl -w kernel.unprivileged_userns_clone=1; sysctl -w user.max_user_namespaces=15000; "
    "on Ubuntu 24.04+ also: sysctl -w kernel.apparmor_restrict_unprivileged_userns=0"
)


@dataclass
class Check:
    name: str
    status: str  # ok | fail | warn | skip
    detail: str
    fix: str = ""
    required: bool = True


def _run(argv: list[str], timeout: float = 10.0) -> tuple[int, str]:
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return 127, str(exc)
    return done.returncode, (done.stdout + done.stderr).strip()


def _outcome(name: str, passed: bool, detail: str, fix: str, required: bool) -> Check:
    status = "ok" if passed else ("fail" if required else "warn")
    return Check(name, status, detail, fix, required)


def check_data_dir(settings: Settings) -> Check:
    path = settings.data_dir
    fix = f"mkdir -p {path} && chown $(id -un) {path}   (or set CHASM_DATA_DIR)"
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path, prefix=".doctor-"):
            pass
    except OSError as exc:
        return _outcome("data dir writable", False, f"{path}: {exc}", fix, True)
    return _outcome("data dir writable", True, str(path), fix, True)


def _database_label(settings: Settings) -> str:
    return "sqlite" if settings.is_sqlite else "postgresql"


async def _database_checks(settings: Settings) -> list[Check]:
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory
    from sqlalchemy import text

    from chasm.kit.db import _alembic_config, create_engine

    label = _database_label(settings)
    url = settings.effective_database_url
    shown = url.split("@")[-1] if "@" in url else url
    db_fix = (
        f"check that {settings.data_dir} is writable"
        if settings.is_sqlite
        else "start PostgreSQL (systemctl start postgresql) and check CHASM_DATABASE_URL"
    )
    engine = create_engine(url, settings.database_schema)
    try:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
            current = await conn.run_sync(
                lambda sync: set(MigrationContext.configure(sync).get_current_heads())
            )
    except Exception as exc:
        reachable = _outcome(f"database reachable ({label})", False, f"{shown}: {exc}", db_fix, True)
        return [reachable, Check("migrations current", "skip", "database unreachable", "", True)]
    finally:
        await engine.dispose()
    heads = set(ScriptDirectory.from_config(_alembic_config()).get_heads())
    missing = sorted(heads - current)
    migrations = _outcome(
        "migrations current",
        not missing,
        "at every head" if not missing else f"pending: {', '.join(missing)}",
        "chasm api serve   (the server applies pending migrations when it starts)",
        True,
    )
    return [_outcome(f"database reachable ({label})", True, shown, db_fix, True), migrations]


async def _redis_check(settings: Settings) -> Check:
    if not settings.redis_url:
        return Check("redis reachable", "skip", "not configured (CHASM_REDIS_URL)", "", False)
    from redis.asyncio import Redis

    client = Redis.from_url(settings.redis_url, socket_connect_timeout=3)
    fix = "start Redis (apt-get install -y redis-server) or unset CHASM_REDIS_URL"
    try:
        await client.ping()
    except Exception as exc:
        return _outcome("redis reachable", False, f"{settings.redis_url}: {exc}", fix, True)
    finally:
        await client.aclose()
    return _outcome("redis reachable", True, settings.redis_url, fix, True)


def check_bubblewrap(required: bool) -> Check:
    if shutil.which("bwrap") is None:
        return _outcome("bubblewrap", False, "bwrap not found", "apt-get install -y bubblewrap", required)
    code, output = _run(["bwrap", "--version"])
    return _outcome(
        "bubblewrap", code == 0, output or f"exit {code}", "apt-get install -y bubblewrap", required
    )


def check_user_namespaces(required: bool) -> Check:
    if shutil.which("bwrap") is None:
        return Check("user namespaces", "skip", "needs bubblewrap", "", required)
    argv = ["bwrap", "--unshare-user", "--uid", "1000", "--ro-bind", "/", "/", "--proc", "/proc", "true"]
    code, output = _run(argv)
    return _outcome("user namespaces", code == 0, "usable" if code == 0 else output, USERNS_FIX, required)


def check_seccomp(settings: Settings, required: bool) -> Check:
    from chasm.sandbox.drivers import seccomp

    if not settings.sandbox_seccomp:
        return Check("seccomp", "skip", "off (CHASM_SANDBOX_SECCOMP=false)", "", required)
    try:
        program = seccomp.bpf()
    except seccomp.SeccompUnavailable as exc:
        return _outcome("seccomp", False, str(exc), "apt-get install -y libseccomp2", required)
    return _outcome("seccomp", True, f"libseccomp: {len(program) // 8} BPF instructions", "", required)


def check_cgroups() -> Check:
    fix = (
        "boot with cgroup v2 (systemd.unified_cgroup_hierarchy=1) or mount the memory, pids, cpu controllers"
    )
    controllers_file = CGROUP_ROOT / "cgroup.controllers"
    if controllers_file.is_file():
        available = set(controllers_file.read_text().split())
        missing = [c for c in CGROUP_CONTROLLERS if c not in available]
        detail = "v2: " + (" ".join(sorted(available & set(CGROUP_CONTROLLERS))) or "no controllers")
    else:
        missing = [c for c in CGROUP_CONTROLLERS if not (CGROUP_ROOT / c).is_dir()]
        detail = "v1: " + " ".join(c for c in CGROUP_CONTROLLERS if c not in missing)
    if missing:
        detail += f" (missing {', '.join(missing)}: sandbox limits are not enforced)"
    return _outcome("cgroups", not missing, detail, fix, False)


def check_tool(name: str, candidates: tuple[str, ...], fix: str, purpose: str) -> Check:
    for candidate in candidates:
        path = shutil.which(candidate)
        if path:
            return _outcome(name, True, path, fix, False)
    return _outcome(name, False, f"not found ({purpose})", fix, False)


def run_checks(settings: Settings) -> list[Check]:
    sandboxes = settings.sandbox_driver == "bubblewrap"
    checks = [check_data_dir(settings)]

    async def services() -> list[Check]:
        return [*await _database_checks(settings), await _redis_check(settings)]

    checks += asyncio.run(services())
    checks += [
        check_bubblewrap(sandboxes),
        check_user_namespaces(sandboxes),
        check_seccomp(settings, sandboxes),
        check_cgroups(),
        check_tool(
            "slirp4netns/passt",
            ("slirp4netns", "pasta", "passt"),
            "apt-get install -y slirp4netns",
            "sandboxes get no network",
        ),
        check_tool(
            "chromium",
            (settings.browser_executable,),
            "apt-get install -y chromium (or set CHASM_BROWSER_EXECUTABLE to the Chromium binary)",
            "browser sessions are unavailable",
        ),
        check_tool("git", ("git",), "apt-get install -y git", "workspace import from git is unavailable"),
    ]
    return checks


_MARKS = {"ok": "[green]ok[/]", "fail": "[red]FAIL[/]", "warn": "[yellow]warn[/]", "skip": "[dim]skip[/]"}


def doctor(as_json: bool = typer.Option(False, "--json", help="Print the checks as JSON.")) -> None:
    """Check this host and configuration; exit code 0 when every required check passes."""
    from chasm.config import get_settings

    get_settings.cache_clear()
    settings = get_settings()
    checks = run_checks(settings)
    healthy = all(c.status != "fail" for c in checks)  # only required checks fail; others warn
    if as_json:
        typer.echo(json.dumps({"ok": healthy, "checks": [asdict(c) for c in checks]}, indent=2))
    else:
        from rich.console import Console
        from rich.table import Table

        table = Table(title="chasm doctor")
        for column in ("check", "status", "detail", "fix"):
            table.add_column(column, overflow="fold")
        for check in checks:
            name = check.name if check.required else f"{check.name} (optional)"
            table.add_row(name, _MARKS[check.status], check.detail, "" if check.status == "ok" else check.fix)
        console = Console(width=max(100, shutil.get_terminal_size().columns), soft_wrap=False)
        console.print(table)
        console.print("All required checks pass." if healthy else "[red]Some required checks fail.[/]")
    if not healthy:
        raise typer.Exit(1)
