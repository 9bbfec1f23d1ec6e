"""An agent's sandbox network and `web_fetch`: the network is stored with the agent and validated;
`web_fetch` is offered to the model only when the network is not `none`, and it fetches from inside
the agent's sandbox (real bubblewrap driver), where the host's own addresses are unreachable."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from agents_helpers import add_agent, add_provider, tool_names, tool_results
from fastapi import FastAPI

from fakes.llm_server import FakeLLM, Reply

PAGE = (
    "<!doctype html><html><head><title>Sandbox page</title><style>body{color:red}</style>"
    "<script>var secret = 1;</script></head><body><h1>Hello from inside</h1>"
    "<p>Readable &amp; plain.</p></body></html>"
)


@pytest.fixture
def host_server() -> Iterator[int]:
    """An HTTP server on the host's 127.0.0.1 answering "host secret": what a sandbox must not read."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.end_headers()
            self.wfile.write(b"host secret\n")

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


async def test_network_is_stored_validated_and_cloned(client: httpx.AsyncClient, fake_llm: FakeLLM) -> None:
    await add_provider(client, fake_llm)
    plain = await add_agent(client, "plain")
    assert plain["network"] == "none" and "web_fetch" in plain["tools"]
    reader = await add_agent(client, "reader", network="direct")
    assert reader["network"] == "direct"
    r = await client.put(f"/api/v1/agents/{plain['id']}", json={"network": "direct"})
    assert r.status_code == 200 and r.json()["network"] == "direct"
    r = await client.put(f"/api/v1/agents/{plain['id']}", json={"description": "x"})
    assert r.json()["network"] == "direct"  # an update that does not name it keeps it
    clone = (await client.post(f"/api/v1/agents/{reader['id']}/clone", json={})).json()
    assert clone["network"] == "direct"
    enveloped = await client.get(f"/api/agents/{reader['id']}")
    assert enveloped.json()["data"]["network"] == "direct"

    r = await client.post("/api/v1/agents", json={"name": "bad", "network": "internet"})
    assert r.status_code == 400 and "network" in r.json()["message"], r.text
    r = await client.put(f"/api/agents/{plain['id']}", json={"network": "everywhere"})
    assert r.status_code == 400 and r.json()["success"] is False and "network" in r.text
    assert (await client.get(f"/api/v1/agents/{plain['id']}")).json()["network"] == "direct"


async def test_web_fetch_is_not_offered_without_network(client: httpx.AsyncClient, fake_llm: FakeLLM) -> None:
    await add_provider(client, fake_llm)
    agent = await add_agent(client, "offline", tools=["search_chats", "web_fetch"])
    fake_llm.script(
        [
            Reply(tool_calls=[("web_fetch", {"url": "http://127.0.0.1:9/"})]),
            Reply(text="I cannot fetch."),
        ]
    )
    r = await client.post(f"/api/v1/agents/{agent['id']}/run", json={"prompt": "fetch a page"})
    assert r.status_code == 200 and r.json()["status"] == "completed", r.text
    assert tool_names(fake_llm.completions[0]) == ["search_chats"]
    refused = tool_results(fake_llm.completions[1])[0]
    assert refused.startswith("network_disabled:") and "'none'" in refused


@pytest.mark.sandbox
async def test_web_fetch_runs_inside_the_agents_sandbox(
    app: FastAPI, admin: httpx.AsyncClient, fake_llm: FakeLLM, host_server: int
) -> None:
    await add_provider(admin, fake_llm)
    agent = await add_agent(admin, "surfer", tools=["terminal", "write_file", "web_fetch"], network="direct")
    serve = (
        "cd /workspace/site && setsid python3 -m http.server 8765 --bind 127.0.0.1 >/dev/null 2>&1 & "
        "for i in $(seq 50); do python3 -c 'import socket; socket.create_connection((\"127.0.0.1\", 8765))' "
        "2>/dev/null && echo up && break; sleep 0.1; done"
    )
    fake_llm.script(
        [
            Reply(tool_calls=[("write_file", {"path": "site/index.html", "content": PAGE})]),
            Reply(tool_calls=[("terminal", {"command": serve})]),
            # The sandbox's own loopback: a server the sandbox runs itself.
            Reply(tool_calls=[("web_fetch", {"url": "http://127.0.0.1:8765/index.html"})]),
            # The host's loopback, through slirp4netns's gateway: blocked.
            Reply(tool_calls=[("web_fetch", {"url": f"http://10.0.2.2:{host_server}/"})]),
            # 127.0.0.1 in the sandbox is the sandbox's: the host's server there is not reached.
            Reply(tool_calls=[("web_fetch", {"url": f"http://127.0.0.1:{host_server}/"})]),
            Reply(tool_calls=[("web_fetch", {"url": "file:///etc/passwd"})]),
            Reply(tool_calls=[("web_fetch", {"url": "http://127.0.0.1:8765/", "max_bytes": 0})]),
            Reply(text="Fetched."),
        ]
    )
    r = await admin.post(f"/api/v1/agents/{agent['id']}/run", json={"prompt": "read the page"})
    items = (await admin.get("/v1/workspaces", params={"limit": 500})).json()["items"]
    app.state.test_disks = [*getattr(app.state, "test_disks", []), *(w["id"] for w in items)]
    assert r.status_code == 200 and r.json()["status"] == "completed", r.text
    assert "web_fetch" in tool_names(fake_llm.completions[0])
    results = tool_results(fake_llm.completions[-1])
    assert "up" in results[1], results[1]
    page = json.loads(results[2])
    assert page["status"] == 200 and page["url"] == "http://127.0.0.1:8765/index.html"
    assert page["content_type"].startswith("text/html") and page["title"] == "Sandbox page"
    assert "Hello from inside" in page["text"] and "Readable & plain." in page["text"]
    assert "secret" not in page["text"] and "color" not in page["text"] and "<" not in page["text"]
    for blocked in results[3:5]:
        assert blocked.startswith("unreachable:") and "host secret" not in blocked, blocked
    assert results[5].startswith("invalid_url:") and "file" in results[5]
    assert results[6].startswith("invalid_arguments:") and "max_bytes" in results[6]
    running = (await admin.get("/v1/sessions", params={"status": "running"})).json()
    assert running["total"] == 0  # the run's sandbox ended with it
