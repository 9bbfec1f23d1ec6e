"""Two `chasm worker` processes on one database never run a job twice (run with
CHASM_TEST_DATABASE_URL to prove it on PostgreSQL; SQLite by default)."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections import Counter
from pathlib import Path

import jobs_kinds  # noqa: F401  (registers test.record here too)
from fastapi import FastAPI
from sqlalchemy import func, select

from chasm.app import create_app
from chasm.config import Settings
from chasm.jobs import service
from chasm.kit.db import transaction
from chasm.models import Account, Job

JOBS = 60
HERE = Path(__file__).resolve().parent


async def _start_worker(settings: Settings) -> asyncio.subprocess.Process:
    env = {
        **os.environ,
        "CHASM_DATA_DIR": str(settings.data_dir),
        "CHASM_DATABASE_URL": str(settings.database_url),
        "CHASM_SECRET_KEY": str(settings.secret_key),
        "CHASM_JOB_POLL_INTERVAL_S": "0.05",
        "PYTHONPATH": f"{HERE}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
    }
    if settings.database_schema:
        env["CHASM_DATABASE_SCHEMA"] = settings.database_schema
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        "from chasm.cli.main import app; app()",
        "worker",
        "--concurrency",
        "4",
        "--import",
        "jobs_kinds",
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )


async def _wait_ready(process: asyncio.subprocess.Process) -> None:
    assert process.stdout is not None
    while True:
        line = await asyncio.wait_for(process.stdout.readline(), 60)
        assert line, f"worker exited with {await process.wait()}"
        if line.startswith(b"chasm worker ready"):
            return


async def test_two_worker_processes_run_every_job_exactly_once(settings: Settings, tmp_path: Path) -> None:
    runs = tmp_path / "runs.txt"
    runs.touch()
    settings.embedded_workers = 0  # only the two worker processes run jobs
    application: FastAPI = create_app(settings)
    async with application.router.lifespan_context(application):  # migrates the database first
        workers = [await _start_worker(settings) for _ in range(2)]
        try:
            await asyncio.gather(*(_wait_ready(process) for process in workers))
            started = asyncio.get_running_loop().time()
            async with transaction(application.state.sessionmaker) as db:
                account = (await db.execute(select(Account))).scalars().first()
                assert account is not None
                ids = [
                    (
                        await service.enqueue(
                            db,
                            account_id=account.id,
                            kind="test.record",
                            input={"path": str(runs), "sleep_s": 0.02},
                        )
                    ).id
                    for _ in range(JOBS)
                ]
            for _ in range(1200):
                async with application.state.sessionmaker() as db:
                    done = await db.scalar(
                        select(func.count()).select_from(Job).where(Job.status == "succeeded")
                    )
                if done == JOBS:
                    break
                await asyncio.sleep(0.05)
            assert done == JOBS
            print(f"{JOBS} jobs in {asyncio.get_running_loop().time() - started:.1f} s")
            # A worker stopped mid-job hands it back to the queue without using up an attempt.
            async with transaction(application.state.sessionmaker) as db:
                long_job = await service.enqueue(
                    db,
                    account_id=account.id,
                    kind="test.record",
                    input={"path": str(tmp_path / "long.txt"), "sleep_s": 120},
                )
            for _ in range(1200):
                async with application.state.sessionmaker() as db:
                    status = await db.scalar(select(Job.status).where(Job.id == long_job.id))
                if status == "running":
                    break
                await asyncio.sleep(0.05)
            assert status == "running"
        finally:
            for process in workers:
                if process.returncode is None:
                    process.send_signal(signal.SIGTERM)
            codes = [await asyncio.wait_for(process.wait(), 30) for process in workers]
    assert codes == [0, 0]
    async with application.state.sessionmaker() as db:
        handed_back = await db.get(Job, long_job.id)
    assert handed_back is not None
    assert (handed_back.status, handed_back.attempts, handed_back.locked_by) == ("queued", 0, None)
    lines = runs.read_text().split()
    job_runs = Counter(lines[0::2])
    assert set(job_runs) == {str(i) for i in ids}
    assert all(count == 1 for count in job_runs.values()), job_runs.most_common(3)
    pids = set(lines[1::2])
    assert pids == {str(process.pid) for process in workers}  # both processes took part
