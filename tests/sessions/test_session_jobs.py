from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from sessions.fixtures import create_session

pytestmark = pytest.mark.sandbox


async def _finish(admin: httpx.AsyncClient, kind: str, data: dict[str, Any]) -> dict[str, Any]:
    created = await admin.post("/v1/jobs", json={"kind": kind, "input": data})
    assert created.status_code == 201, created.text
    for _ in range(400):
        job: dict[str, Any] = (await admin.get(f"/v1/jobs/{created.json()['id']}")).json()
        if job["status"] in ("succeeded", "failed", "canceled"):
            return job
        await asyncio.sleep(0.05)
    raise AssertionError(f"job {kind} did not finish")


async def test_kinds_are_registered(admin: httpx.AsyncClient) -> None:
    kinds = {k["kind"] for k in (await admin.get("/v1/jobs/kinds")).json()["items"]}
    assert {"session.terminate", "session.bulk_terminate", "sandbox.exec", "pipeline.run"} <= kinds


async def test_pipeline_stops_at_the_first_failure(admin: httpx.AsyncClient) -> None:
    job = await _finish(
        admin,
        "pipeline.run",
        {
            "ephemeral": True,
            "steps": [
                {"command": "echo one > f"},
                {"command": "cat f; exit 7"},
                {"command": "echo never"},
            ],
        },
    )
    assert job["status"] == "failed", job
    assert job["error"] == "step 1 exited with 7"
    result = job["result"]
    assert result["succeeded"] is False and result["failed_step"] == 1
    assert [s["exit_code"] for s in result["steps"]] == [0, 7]
    assert result["steps"][1]["output"] == "one\n"
    assert len({s["session_id"] for s in result["steps"]}) == 1
    used = (await admin.get(f"/v1/sessions/{result['session_id']}")).json()
    assert used["status"] == "terminated" and used["ended_reason"] == "completed"

    ok = await _finish(admin, "pipeline.run", {"ephemeral": True, "steps": [{"command": "true"}]})
    assert ok["result"]["succeeded"] is True


async def test_exec_and_terminate_jobs(admin: httpx.AsyncClient) -> None:
    s = await create_session(admin)
    ran = await _finish(admin, "sandbox.exec", {"session_id": s["id"], "command": "echo via-job"})
    assert ran["result"]["output"] == "via-job\n" and ran["result"]["exit_code"] == 0
    failed = await _finish(admin, "sandbox.exec", {"session_id": s["id"], "command": "echo out; exit 7"})
    assert failed["status"] == "failed", failed
    assert failed["error"] == "the command exited with 7"
    assert failed["result"]["exit_code"] == 7 and failed["result"]["output"] == "out\n"
    ended = await _finish(admin, "session.terminate", {"session_id": s["id"]})
    assert ended["result"]["status"] == "terminated"
    other = await create_session(admin)
    bulk = await _finish(admin, "session.bulk_terminate", {"all": True})
    assert bulk["result"]["terminated"] == [other["id"]]
