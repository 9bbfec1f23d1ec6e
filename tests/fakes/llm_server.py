"""A fake LLM API on 127.0.0.1 (stdlib http.server in a thread, HTTP/1.1) speaking two real wire
formats, following a script per test:

- OpenAI-compatible: `POST /v1/chat/completions` (JSON, or SSE chunks ending `data: [DONE]` with
  `stream: true`, usage chunk with `stream_options.include_usage`), `GET /v1/models`, error bodies
  `{"error": {"message", "type", "code"}}`.
- Anthropic: `POST /v1/messages` (JSON, or the SSE events message_start ... message_stop),
  `GET /v1/models`, error bodies `{"type": "error", "error": {"type", "message"}}`.

Each request to a completion path takes the next `Reply` of the script (or calls it, when the
script holds a function of the request); an empty script answers `fake.default`. `fake.requests`
holds what was received. Use the `fake_llm` fixture:

    fake_llm.script([Reply(text="hi"), Reply(tool_calls=[("terminal", {"command": "true"})]),
                     Reply(status=429), Reply(text="late", delay=0.5)])
    OpenAI SDK:    base_url=fake_llm.openai_url, api_key=fake_llm.api_key
    Anthropic SDK: base_url=fake_llm.anthropic_url, api_key=fake_llm.api_key
"""

from __future__ import annotations

import contextlib
import json
import re
import secrets
import socket
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from fakes.wire_checks import refusal

ToolCallScript = tuple[str, dict[str, Any] | str] | dict[str, Any]


@dataclass
class Reply:
    """One scripted answer. `status` >= 400 answers an error in the protocol's error format (`body`
    overrides it whole; `message` and `error_code` fill the default one)."""

    text: str | None = None
    tool_calls: list[ToolCallScript] = field(default_factory=list)
    status: int = 200
    body: dict[str, Any] | None = None
    message: str | None = None
    error_code: str | None = None
    raw: bytes | None = None  # sent as is with `status` (a provider answering garbage)
    delay: float = 0.0  # seconds before the response starts
    chunk_delay: float = 0.0  # seconds between streamed chunks
    finish_reason: str | None = None  # OpenAI's words: stop, tool_calls, length
    input_tokens: int | None = None  # default: the words of the request's messages
    output_tokens: int | None = None  # default: the words of the reply
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    headers: dict[str, str] = field(default_factory=dict)
    fail_after: int | None = None  # a stream breaks with an error event after this many text chunks


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: dict[str, Any] | None


Script = Reply | Callable[[Received], Reply]

_OPENAI_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "invalid_request_error",
    403: "permission_error",
    404: "invalid_request_error",
    429: "rate_limit_exceeded",
}
_ANTHROPIC_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    529: "overloaded_error",
}
_ANTHROPIC_STOP = {"stop": "end_turn", "tool_calls": "tool_use", "length": "max_tokens"}


def _pieces(text: str) -> list[str]:
    """The text in stream chunks: one word (with its leading space) each."""
    return re.findall(r"\s*\S+|\s+$", text) or ([text] if text else [])


def _words(value: Any) -> int:
    return len(json.dumps(value).split()) if value is not None else 0


@dataclass
class FakeLLM:
    api_key: str | None = "sk-fake-key"  # None: no key is checked (a local server)
    models: list[str] = field(
        default_factory=lambda: ["gpt-4o-mini", "gpt-4o", "claude-sonnet-4-5", "claude-haiku-4-5"]
    )
    default: Reply = field(default_factory=lambda: Reply(text="ok"))
    requests: list[Received] = field(default_factory=list)
    connections_opened: int = 0  # TCP connections clients opened (a client reusing one opens one)
    server: ThreadingHTTPServer | None = None
    _script: deque[Script] = field(default_factory=deque)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _connections: set[socket.socket] = field(default_factory=set)

    @property
    def url(self) -> str:
        assert self.server is not None
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def openai_url(self) -> str:
        return self.url + "/v1"

    @property
    def anthropic_url(self) -> str:
        return self.url

    def script(self, replies: list[Script]) -> None:
        """Appends replies, answered in order by the following completion requests."""
        with self._lock:
            self._script.extend(replies)

    @property
    def completions(self) -> list[Received]:
        """The completion requests received (not model listings)."""
        return [r for r in self.requests if r.method == "POST"]

    def _next(self, request: Received) -> Reply:
        with self._lock:
            item = self._script.popleft() if self._script else self.default
        return item(request) if callable(item) else item

    def start(self) -> FakeLLM:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self) -> None:
                super().setup()
                # as real servers do: each streamed chunk leaves at once (no Nagle delay)
                self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                fake._connections.add(self.connection)
                fake.connections_opened += 1

            def finish(self) -> None:
                fake._connections.discard(self.connection)
                super().finish()

            def log_message(self, *args: Any) -> None:
                pass

            def _receive(self) -> Received:
                length = int(self.headers.get("content-length") or 0)
                raw = self.rfile.read(length) if length else b""
                body = json.loads(raw) if raw else None
                headers = {k.lower(): v for k, v in self.headers.items()}
                received = Received(self.command, self.path.split("?")[0], headers, body)
                fake.requests.append(received)
                return received

            def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.send_header("x-request-id", "req_" + secrets.token_hex(6))
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(body)

            def _json(self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> None:
                self._send(status, json.dumps(body).encode(), headers)

            def _authorised(self, request: Received, anthropic: bool) -> bool:
                if fake.api_key is None:
                    return True
                given = request.headers.get("x-api-key") if anthropic else None
                if given is None:
                    given = request.headers.get("authorization", "").removeprefix("Bearer ")
                if given == fake.api_key:
                    return True
                self._error(Reply(status=401, message="Invalid API key provided."), anthropic)
                return False

            def _error(self, reply: Reply, anthropic: bool) -> None:
                status = reply.status
                headers = dict(reply.headers)
                if status == 429 or status >= 500:
                    # as the real APIs do; the SDKs' retries then wait milliseconds, not seconds
                    headers.setdefault("retry-after-ms", "10")
                body = reply.body
                if body is None:
                    message = reply.message or f"fake error {status}"
                    if anthropic:
                        kind = reply.error_code or _ANTHROPIC_ERROR_TYPES.get(status, "api_error")
                        body = {"type": "error", "error": {"type": kind, "message": message}}
                    else:
                        kind = _OPENAI_ERROR_TYPES.get(status, "server_error")
                        error = {"message": message, "type": kind, "param": None, "code": reply.error_code}
                        body = {"error": error}
                self._json(status, body, headers)

            def _sse_start(self, headers: dict[str, str]) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Cache-Control", "no-cache")
                self.send_header("Transfer-Encoding", "chunked")
                for key, value in headers.items():
                    self.send_header(key, value)
                self.end_headers()

            def _sse(self, data: str, event: str | None = None, pause: float = 0.0) -> None:
                if pause:
                    time.sleep(pause)
                frame = (f"event: {event}\n" if event else "") + f"data: {data}\n\n"
                payload = frame.encode()
                self.wfile.write(f"{len(payload):x}\r\n".encode() + payload + b"\r\n")
                self.wfile.flush()

            def _sse_end(self) -> None:
                self.wfile.write(b"0\r\n\r\n")
                self.wfile.flush()

            def do_GET(self) -> None:
                request = self._receive()
                anthropic = "anthropic-version" in request.headers
                if request.path != "/v1/models":
                    self._json(404, {"error": {"message": "Not found", "type": "invalid_request_error"}})
                    return
                if not self._authorised(request, anthropic):
                    return
                if anthropic:
                    data = [
                        {
                            "type": "model",
                            "id": m,
                            "display_name": m,
                            "created_at": "2025-01-01T00:00:00Z",
                        }
                        for m in fake.models
                    ]
                    first, last = (data[0]["id"], data[-1]["id"]) if data else (None, None)
                    self._json(200, {"data": data, "has_more": False, "first_id": first, "last_id": last})
                else:
                    data = [
                        {"id": m, "object": "model", "created": 1735689600, "owned_by": "fake"}
                        for m in fake.models
                    ]
                    self._json(200, {"object": "list", "data": data})

            def do_POST(self) -> None:
                request = self._receive()
                anthropic = request.path == "/v1/messages"
                if request.path not in ("/v1/chat/completions", "/v1/messages"):
                    self._json(404, {"error": {"message": "Not found", "type": "invalid_request_error"}})
                    return
                if not self._authorised(request, anthropic):
                    return
                problem = refusal(request.body, anthropic)
                if problem is not None:
                    self._error(Reply(status=400, message=problem), anthropic)
                    return
                reply = fake._next(request)
                if reply.delay:
                    time.sleep(reply.delay)
                if reply.raw is not None:
                    self._send(reply.status, reply.raw, reply.headers)
                elif reply.status >= 400:
                    self._error(reply, anthropic)
                elif anthropic:
                    self._anthropic(request, reply)
                else:
                    self._openai(request, reply)

            # OpenAI chat completions

            def _openai(self, request: Received, reply: Reply) -> None:
                body = request.body or {}
                model = body.get("model", "fake-model")
                calls = _calls(reply, "call_")
                usage = _usage(body.get("messages"), reply, calls)
                finish = reply.finish_reason or ("tool_calls" if calls else "stop")
                cid, created = "chatcmpl-" + secrets.token_hex(12), int(time.time())
                openai_usage = {
                    "prompt_tokens": usage[0] + usage[2],
                    "completion_tokens": usage[1],
                    "total_tokens": usage[0] + usage[1] + usage[2],
                    "prompt_tokens_details": {"cached_tokens": usage[2]},
                }
                wire_calls = [
                    {"id": i, "type": "function", "function": {"name": n, "arguments": a}}
                    for i, n, a in calls
                ]
                if not body.get("stream"):
                    message: dict[str, Any] = {"role": "assistant", "content": reply.text}
                    if wire_calls:
                        message["tool_calls"] = wire_calls
                    choice = {"index": 0, "message": message, "finish_reason": finish, "logprobs": None}
                    self._json(
                        200,
                        {
                            "id": cid,
                            "object": "chat.completion",
                            "created": created,
                            "model": model,
                            "choices": [choice],
                            "usage": openai_usage,
                        },
                        reply.headers,
                    )
                    return

                def chunk(delta: dict[str, Any], finish_reason: str | None = None) -> str:
                    choice = {"index": 0, "delta": delta, "finish_reason": finish_reason, "logprobs": None}
                    return json.dumps(
                        {
                            "id": cid,
                            "object": "chat.completion.chunk",
                            "created": created,
                            "model": model,
                            "choices": [choice],
                        }
                    )

                pause = reply.chunk_delay
                self._sse_start(reply.headers)
                self._sse(chunk({"role": "assistant", "content": ""}))
                for i, piece in enumerate(_pieces(reply.text or "")):
                    if i == reply.fail_after:
                        error = {"message": reply.message or "stream interrupted", "type": "server_error"}
                        self._sse(json.dumps({"error": error}))
                        self._sse_end()
                        return
                    self._sse(chunk({"content": piece}), pause=pause)
                for index, (call_id, name, arguments) in enumerate(calls):
                    start = {"index": index, "id": call_id, "type": "function"}
                    start["function"] = {"name": name, "arguments": ""}
                    self._sse(chunk({"tool_calls": [start]}), pause=pause)
                    half = len(arguments) // 2
                    for part in (arguments[:half], arguments[half:]):
                        if part:
                            delta = {"tool_calls": [{"index": index, "function": {"arguments": part}}]}
                            self._sse(chunk(delta), pause=pause)
                self._sse(chunk({}, finish))
                if (body.get("stream_options") or {}).get("include_usage"):
                    self._sse(
                        json.dumps(
                            {
                                "id": cid,
                                "object": "chat.completion.chunk",
                                "created": created,
                                "model": model,
                                "choices": [],
                                "usage": openai_usage,
                            }
                        )
                    )
                self._sse("[DONE]")
                self._sse_end()

            # Anthropic messages

            def _anthropic(self, request: Received, reply: Reply) -> None:
                body = request.body or {}
                model = body.get("model", "claude-fake")
                calls = _calls(reply, "toolu_")
                usage = _usage(body.get("messages"), reply, calls)
                stop = _ANTHROPIC_STOP.get(reply.finish_reason or "", reply.finish_reason)
                stop = stop or ("tool_use" if calls else "end_turn")
                mid = "msg_" + secrets.token_hex(12)
                wire_usage = {
                    "input_tokens": usage[0],
                    "output_tokens": usage[1],
                    "cache_read_input_tokens": usage[2],
                    "cache_creation_input_tokens": usage[3],
                }
                content: list[dict[str, Any]] = []
                if reply.text is not None:
                    content.append({"type": "text", "text": reply.text})
                for call_id, name, arguments in calls:
                    content.append(
                        {"type": "tool_use", "id": call_id, "name": name, "input": json.loads(arguments)}
                    )
                message = {
                    "id": mid,
                    "type": "message",
                    "role": "assistant",
                    "model": model,
                    "content": content,
                    "stop_reason": stop,
                    "stop_sequence": None,
                    "usage": wire_usage,
                }
                if not body.get("stream"):
                    self._json(200, message, reply.headers)
                    return
                pause = reply.chunk_delay

                def event(kind: str, payload: dict[str, Any]) -> None:
                    self._sse(json.dumps({"type": kind, **payload}), event=kind, pause=pause)

                self._sse_start(reply.headers)
                start_usage = {**wire_usage, "output_tokens": 1}
                event(
                    "message_start",
                    {"message": {**message, "content": [], "stop_reason": None, "usage": start_usage}},
                )
                event("ping", {})
                index = 0
                if reply.text is not None:
                    event(
                        "content_block_start", {"index": index, "content_block": {"type": "text", "text": ""}}
                    )
                    for i, piece in enumerate(_pieces(reply.text)):
                        if i == reply.fail_after:
                            error = {
                                "type": "overloaded_error",
                                "message": reply.message or "stream interrupted",
                            }
                            event("error", {"error": error})
                            self._sse_end()
                            return
                        event(
                            "content_block_delta",
                            {"index": index, "delta": {"type": "text_delta", "text": piece}},
                        )
                    event("content_block_stop", {"index": index})
                    index += 1
                for call_id, name, arguments in calls:
                    block = {"type": "tool_use", "id": call_id, "name": name, "input": {}}
                    event("content_block_start", {"index": index, "content_block": block})
                    half = len(arguments) // 2
                    for part in (arguments[:half], arguments[half:]):
                        delta = {"type": "input_json_delta", "partial_json": part}
                        event("content_block_delta", {"index": index, "delta": delta})
                    event("content_block_stop", {"index": index})
                    index += 1
                event(
                    "message_delta",
                    {
                        "delta": {"stop_reason": stop, "stop_sequence": None},
                        "usage": {"output_tokens": usage[1]},
                    },
                )
                event("message_stop", {})
                self._sse_end()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        """Stops listening and drops the kept-alive connections: the API is down."""
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
        for connection in list(self._connections):
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)


def _calls(reply: Reply, prefix: str) -> list[tuple[str, str, str]]:
    """The reply's tool calls as (id, name, JSON arguments)."""
    out = []
    for call in reply.tool_calls:
        if isinstance(call, dict):
            call_id, name, arguments = call.get("id"), call["name"], call.get("arguments", {})
        else:
            call_id, (name, arguments) = None, call
        text = arguments if isinstance(arguments, str) else json.dumps(arguments)
        out.append((call_id or prefix + secrets.token_hex(8), name, text))
    return out


def _usage(messages: Any, reply: Reply, calls: list[tuple[str, str, str]]) -> tuple[int, int, int, int]:
    """(input, output, cache read, cache write) tokens: scripted, or words counted."""
    inp = reply.input_tokens if reply.input_tokens is not None else max(1, _words(messages))
    out = reply.output_tokens
    if out is None:
        out = len((reply.text or "").split()) + sum(len(a.split()) + 1 for _, _, a in calls)
    return inp, out, reply.cache_read_tokens, reply.cache_write_tokens


@pytest.fixture
def fake_llm() -> Iterator[FakeLLM]:
    """A fake OpenAI-compatible and Anthropic API on 127.0.0.1, following the test's script."""
    fake = FakeLLM().start()
    yield fake
    fake.stop()
