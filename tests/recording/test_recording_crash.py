"""Acknowledged means durable: a real `chasm api serve` killed with -9 keeps every acknowledged
event, in order, and /recovery gives the session back (run: `uv run pytest tests/recording`)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from websockets.asyncio.client import connect

from chasm.config import Settings
from sessions.server_process import ServerProcess, json_of


async def test_every_acknowledged_event_survives_kill_9(settings: Settings, tmp_path: Path) -> None:
    server = ServerProcess(settings, tmp_path / "server.log")
    await server.start()
    acked: list[str] = []
    try:
        async with server.client() as api:
            await json_of(
                await api.post(
                    "/api/recording/events", json={"session_id": "k", "event_type": "session_start"}
                ),
                200,
            )
            ws_url = server.url.replace("http://", "ws://") + f"/ws/recording?token={server.key}"
            async with connect(ws_url) as ws:
                await ws.recv()  # ready

                async def sender() -> None:
                    for b in range(1000):
                        events = [
                            {
                                "session_id": "k",
                                "event_type": "message",
                                "event_id": f"e{b}-{i}",
                                "data": {"role": "user", "content": f"message {b} {i}"},
                            }
                            for i in range(20)
                        ]
                        await ws.send(json.dumps({"events": events}))
                        await asyncio.sleep(0)

                send = asyncio.create_task(sender())
                while len(acked) < 2000:
                    reply = json.loads(await ws.recv())
                    assert reply["type"] == "ack", reply
                    acked.extend(a["event_id"] for a in reply["acks"])
                server.kill9()  # mid-stream: events are in flight, unacknowledged
                send.cancel()
    finally:
        if server.process and server.process.returncode is None:
            server.kill9()
        if server.process:
            await server.process.wait()

    again = ServerProcess(settings, tmp_path / "again.log")
    again.key = server.key
    await again.start()
    try:
        async with again.client() as api:
            recovered = (await json_of(await api.get("/api/recording/recovery"), 200))["data"]["recovered"]
            assert [s["session_id"] for s in recovered] == ["k"]
            last_seq = recovered[0]["last_seq"]
            got = (await json_of(await api.get("/api/recording/sessions/k?limit=10000"), 200))["data"]
            stored = [e["event_id"] for e in got["events"]][1:]  # after session_start
            assert stored[: len(acked)] == acked  # every acked event, in order
            assert [e["seq"] for e in got["events"]] == list(range(1, last_seq + 1))
            # the client resumes: the next event goes after the last stored one
            nxt = await api.post(
                "/api/recording/events",
                json={
                    "session_id": "k",
                    "event_type": "message",
                    "event_id": "after",
                    "data": {"role": "user", "content": "after"},
                },
            )
            assert (await json_of(nxt, 200))["data"]["acks"][0]["seq"] == last_seq + 1
    finally:
        await again.stop()


async def test_concurrent_clients_keep_every_acknowledged_event_through_kill_9(
    settings: Settings, tmp_path: Path
) -> None:
    """Batches of several HTTP clients and WebSockets share transactions (group commit): still,
    an acknowledged event is a committed one."""
    server = ServerProcess(settings, tmp_path / "server.log")
    await server.start()
    acked: dict[str, list[str]] = {}
    names = [f"h{i}" for i in range(3)] + [f"w{i}" for i in range(2)]
    try:
        async with server.client() as api:
            for name in names:
                start = {"session_id": name, "event_type": "session_start"}
                await json_of(await api.post("/api/recording/events", json=start), 200)

            def batch(name: str, b: int) -> dict[str, object]:
                return {
                    "events": [
                        {
                            "session_id": name,
                            "event_type": "message",
                            "event_id": f"{name}-{b}-{i}",
                            "data": {"role": "user", "content": f"{name} {b} {i}"},
                        }
                        for i in range(10)
                    ]
                }

            async def http_client(name: str) -> None:
                for b in range(10_000):
                    r = await api.post("/api/recording/events", json=batch(name, b))
                    acked.setdefault(name, []).extend(a["event_id"] for a in r.json()["data"]["acks"])

            async def ws_client(name: str) -> None:
                ws_url = server.url.replace("http://", "ws://") + f"/ws/recording?token={server.key}"
                async with connect(ws_url) as ws:
                    await ws.recv()  # ready
                    for b in range(10_000):
                        await ws.send(json.dumps(batch(name, b)))
                        if b >= 4:  # 4 in flight
                            reply = json.loads(await ws.recv())
                            acked.setdefault(name, []).extend(a["event_id"] for a in reply["acks"])

            clients = [asyncio.create_task(http_client(n)) for n in names[:3]]
            clients += [asyncio.create_task(ws_client(n)) for n in names[3:]]
            while sum(len(v) for v in acked.values()) < 3000:
                await asyncio.sleep(0.05)
                assert not any(c.done() for c in clients), [c.exception() for c in clients if c.done()]
            server.kill9()  # batches in flight on every client
            for c in clients:
                c.cancel()
            await asyncio.gather(*clients, return_exceptions=True)
    finally:
        if server.process and server.process.returncode is None:
            server.kill9()
        if server.process:
            await server.process.wait()

    again = ServerProcess(settings, tmp_path / "again.log")
    again.key = server.key
    await again.start()
    try:
        async with again.client() as api:
            for name in names:
                r = await api.get(f"/api/recording/sessions/{name}?limit=10000")
                got = (await json_of(r, 200))["data"]
                stored = [e["event_id"] for e in got["events"]][1:]
                assert stored[: len(acked.get(name, []))] == acked.get(name, [])  # every acked one, in order
                assert [e["seq"] for e in got["events"]] == list(range(1, got["last_seq"] + 1))
    finally:
        await again.stop()
