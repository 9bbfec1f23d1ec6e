"""A webhook receiver on 127.0.0.1 (stdlib http.server in a thread) that verifies every request's
signature with the `standardwebhooks` library and answers as a test tells it to."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks import Webhook, WebhookVerificationError


@dataclass
class Received:
    webhook_id: str
    type: str
    data: dict[str, Any]
    verified: bool
    answered: int


@dataclass
class Receiver:
    secret: str = ""
    # (n-th request, starting at 1) -> status to answer; "hang" sleeps past any timeout
    answer: Callable[[int], int | str] = lambda _n: 200
    requests: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}/hook"

    def delivered(self) -> list[Received]:
        """Requests answered 2xx: the events the receiver accepted."""
        with self.lock:
            return [r for r in self.requests if 200 <= r.answered < 300]

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                try:
                    Webhook(receiver.secret).verify(body, dict(self.headers.items()))
                    verified = True
                except WebhookVerificationError:
                    verified = False
                with receiver.lock:
                    n = len(receiver.requests) + 1
                    answer = receiver.answer(n)
                    status = 599 if answer == "hang" else int(answer)
                    payload = json.loads(body)
                    receiver.requests.append(
                        Received(
                            self.headers["webhook-id"], payload["type"], payload["data"], verified, status
                        )
                    )
                if answer == "hang":
                    time.sleep(2)
                    return
                self.send_response(status)
                if status in (301, 302, 307, 308):
                    self.send_header("Location", "http://169.254.169.254/latest/meta-data/")
                reply = b"ok" * 5000 if status == 200 else b"nope"
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
