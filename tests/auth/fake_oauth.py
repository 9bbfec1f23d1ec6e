"""A small OAuth 2 authorization server on 127.0.0.1 (stdlib http.server in a thread).

It speaks the parts of the protocol Chasm uses: an authorize endpoint redirecting back with a code,
a form-encoded token endpoint that checks the client secret or the PKCE verifier, and the user
endpoints of Google (`/userinfo`) and GitHub (`/user`, `/user/emails`).
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit


@dataclass
class Grant:
    client_id: str
    redirect_uri: str
    challenge: str | None
    challenge_method: str | None


@dataclass
class FakeProvider:
    client_id: str
    client_secret: str | None  # None: a public client that must use PKCE
    github_style: bool = False
    userinfo: dict[str, Any] = field(default_factory=dict)
    emails: list[dict[str, Any]] = field(default_factory=list)
    id_token: str | None = None
    grants: dict[str, Grant] = field(default_factory=dict)
    tokens: set[str] = field(default_factory=set)
    token_requests: list[dict[str, str]] = field(default_factory=list)
    authorize_requests: list[dict[str, str]] = field(default_factory=list)
    server: ThreadingHTTPServer | None = None

    @property
    def base(self) -> str:
        assert self.server is not None
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> FakeProvider:
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                return

            def _send(
                self, status: int, body: bytes, content_type: str, headers: dict[str, str] | None = None
            ) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)

            def _json(self, status: int, payload: Any) -> None:
                self._send(status, json.dumps(payload).encode(), "application/json")

            def do_GET(self) -> None:  # noqa: N802
                url = urlsplit(self.path)
                query = {k: v[0] for k, v in parse_qs(url.query).items()}
                if url.path == "/authorize":
                    provider.authorize_requests.append(query)
                    if query.get("client_id") != provider.client_id or query.get("response_type") != "code":
                        self._json(400, {"error": "invalid_request"})
                        return
                    code = secrets.token_urlsafe(16)
                    provider.grants[code] = Grant(
                        query["client_id"],
                        query["redirect_uri"],
                        query.get("code_challenge"),
                        query.get("code_challenge_method"),
                    )
                    target = query["redirect_uri"] + "?" + urlencode({"code": code, "state": query["state"]})
                    self._send(302, b"", "text/plain", {"Location": target})
                    return
                token = self.headers.get("Authorization", "").removeprefix("Bearer ").removeprefix("token ")
                if token not in provider.tokens:
                    self._json(401, {"message": "Bad credentials"})
                elif url.path == "/userinfo" or url.path == "/user":
                    self._json(200, provider.userinfo)
                elif url.path == "/user/emails":
                    self._json(200, provider.emails)
                else:
                    self._json(404, {"message": "Not Found"})

            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length", "0"))
                raw = self.rfile.read(length).decode()
                form = {k: v[0] for k, v in parse_qs(raw).items()}
                provider.token_requests.append(form)
                if urlsplit(self.path).path != "/token":
                    self._json(404, {"error": "not_found"})
                    return
                error = provider.check(form)
                if error:
                    self._json(400, {"error": error})
                    return
                access = "at_" + secrets.token_urlsafe(16)
                provider.tokens.add(access)
                payload: dict[str, Any] = {"access_token": access, "token_type": "bearer", "expires_in": 3600}
                if provider.client_secret is None:
                    payload["refresh_token"] = "rt_" + secrets.token_urlsafe(16)
                if provider.id_token:
                    payload["id_token"] = provider.id_token
                if provider.github_style and "application/json" not in self.headers.get("Accept", ""):
                    body = urlencode({k: str(v) for k, v in payload.items()}).encode()
                    self._send(200, body, "application/x-www-form-urlencoded")
                    return
                self._json(200, payload)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        ).start()
        return self

    def check(self, form: dict[str, str]) -> str | None:
        if form.get("grant_type") != "authorization_code":
            return "unsupported_grant_type"
        grant = self.grants.pop(form.get("code", ""), None)
        if grant is None:
            return "invalid_grant"
        if form.get("client_id") != self.client_id or form.get("redirect_uri") != grant.redirect_uri:
            return "invalid_client"
        if self.client_secret is not None and form.get("client_secret") != self.client_secret:
            return "invalid_client"
        if grant.challenge is not None:
            verifier = form.get("code_verifier", "")
            digest = hashlib.sha256(verifier.encode()).digest()
            expected = base64.urlsafe_b64encode(digest).decode().rstrip("=")
            if grant.challenge_method != "S256" or expected != grant.challenge:
                return "invalid_grant"
        elif self.client_secret is None:
            return "invalid_request"
        return None

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
