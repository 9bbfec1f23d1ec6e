"""`web_fetch`: fetch an http(s) URL from inside a sandbox session, as readable text.

The request is made by a small Python program run in the sandbox, never by the server: the
session's network setting decides what it may reach (`none` reaches nothing; `direct` reaches any
address but the host's own, which the driver blocks; `proxy` goes through the session's proxy).
The server checks the URL's form before, and reduces the answer (HTML to text) after.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import shlex
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, model_validator

from chasm.exec import service as exec_service
from chasm.exec.schemas import ExecIn
from chasm.models import SandboxSession
from chasm.sandbox.runtime import runtime_of
from chasm.sessions import service as sessions
from chasm.sessions.schemas import NetworkIn, SessionCreate
from chasm.tools.base import Tool, ToolContext, ToolError, ToolResult
from chasm.tools.terminal import sandbox_session

DEFAULT_MAX_BYTES = 100_000
MAX_BYTES = 500_000
FETCH_TIMEOUT_S = 30
# Run by the sandbox's Python: one JSON line, either the answer (its body base64) or an error.
# Redirects are followed to http(s) only; the session's proxy variables are honoured by urllib.
FETCH_SCRIPT = r"""
import base64, json, socket, sys, urllib.error, urllib.request
url, limit, timeout = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
def out(**kw):
    print(json.dumps(kw)); sys.exit(0)
class Redirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        if not newurl.lower().startswith(("http://", "https://")):
            out(error="invalid_url", message="redirected to a non-http(s) URL: " + newurl[:300])
        return super().redirect_request(req, fp, code, msg, headers, newurl)
opener = urllib.request.build_opener(Redirects)
req = urllib.request.Request(url, headers={"User-Agent": "chasm-web-fetch/1",
    "Accept": "text/html,text/plain,application/json;q=0.9,*/*;q=0.5"})
try:
    r = opener.open(req, timeout=timeout)
except urllib.error.HTTPError as e:
    r = e
except urllib.error.URLError as e:
    reason = e.reason
    kind = "timeout" if isinstance(reason, (socket.timeout, TimeoutError)) else "unreachable"
    out(error=kind, message=str(reason))
except (socket.timeout, TimeoutError) as e:
    out(error="timeout", message=str(e) or "timed out")
except (OSError, ValueError) as e:
    out(error="unreachable", message=str(e))
try:
    body = r.read(limit + 1)
except (OSError, ValueError) as e:
    out(error="unreachable", message="the answer broke off: " + str(e))
out(status=r.status, url=r.geturl(), content_type=r.headers.get("Content-Type", ""),
    truncated=len(body) > limit, body=base64.b64encode(body[:limit]).decode())
"""


class WebFetchArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")
    url: str = Field(min_length=1, max_length=8000, description="an http:// or https:// URL")
    max_bytes: int = Field(
        default=DEFAULT_MAX_BYTES, ge=1, le=MAX_BYTES, description="read at most this much of the body"
    )
    session_id: str | None = Field(default=None, description="fetch from this sandbox session")
    workspace: str | None = Field(
        default=None, description="fetch from this workspace's live session (started if none runs)"
    )

    @model_validator(mode="after")
    def _check(self) -> WebFetchArgs:
        if self.session_id is not None and self.workspace is not None:
            raise ValueError("give one target: session_id or workspace (neither: a new ephemeral sandbox)")
        return self


def check_url(url: str) -> str:
    """The URL, stripped, once it is an absolute http(s) URL with a host."""
    url = url.strip()
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018  (raises on a port that is not a number)
    except ValueError as exc:
        raise ToolError(f"'{url[:200]}' is not a valid URL ({exc})", code="invalid_url") from None
    if parts.scheme.lower() not in ("http", "https"):
        raise ToolError(
            f"web_fetch fetches http:// and https:// URLs only, not '{parts.scheme or 'no scheme'}:'",
            code="invalid_url",
        )
    if not parts.hostname or any(c.isspace() for c in url):
        raise ToolError(f"'{url[:200]}' is not a valid URL (it needs a host, no spaces)", code="invalid_url")
    return url


class _Text(HTMLParser):
    """HTML reduced to its readable text: no scripts, styles or markup; blocks on their own lines."""

    SKIP = frozenset({"script", "style", "noscript", "template", "svg", "head", "iframe"})
    BLOCK = frozenset(
        [
            "p",
            "div",
            "br",
            "li",
            "ul",
            "ol",
            "tr",
            "table",
            "section",
            "article",
            "header",
            "footer",
            "nav",
            "main",
            "h1",
            "h2",
            "h3",
            "h4",
            "h5",
            "h6",
            "pre",
            "blockquote",
            "hr",
            "dd",
            "dt",
            "dl",
            "form",
            "title",
        ]
    )

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping = 0
        self.title = ""
        self._in_title = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "title":
            self._in_title = True
        elif tag in self.SKIP:
            self.skipping += 1
        if tag in self.BLOCK:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False
        elif tag in self.SKIP and self.skipping:
            self.skipping -= 1
        if tag in self.BLOCK:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data
        elif not self.skipping:
            self.parts.append(data)


def html_text(html: str) -> tuple[str, str]:
    """The page's title and readable text."""
    parser = _Text()
    parser.feed(html)
    parser.close()
    lines = (re.sub(r"[ \t\r\f\v]+", " ", line).strip() for line in "".join(parser.parts).split("\n"))
    text = re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
    return " ".join(parser.title.split()), text


def _decode(body: bytes, content_type: str) -> str:
    match = re.search(r"charset=[\"']?([\w.:-]+)", content_type, re.I)
    try:
        return body.decode(match.group(1) if match else "utf-8", errors="replace")
    except LookupError:
        return body.decode("utf-8", errors="replace")


def page(answer: dict[str, Any]) -> dict[str, Any]:
    """The script's answer as the caller reads it: status, final URL, type and text."""
    try:
        body = base64.b64decode(str(answer.get("body", "")), validate=True)
    except (binascii.Error, ValueError):
        raise ToolError("the sandbox answered a body that is not base64", code="fetch_failed") from None
    content_type = str(answer.get("content_type", ""))
    text = _decode(body, content_type)
    out: dict[str, Any] = {
        "status": answer.get("status"),
        "url": answer.get("url"),
        "content_type": content_type,
        "bytes": len(body),
        "truncated": bool(answer.get("truncated")),
    }
    if "html" in content_type.lower() or (
        not content_type and text.lstrip()[:15].lower().startswith("<!doctype html")
    ):
        out["title"], text = html_text(text)
    elif not _is_text(content_type):
        return {**out, "text": f"[{len(body)} bytes of {content_type or 'unknown type'}, not text]"}
    return {**out, "text": text}


def _is_text(content_type: str) -> bool:
    kind = content_type.split(";")[0].strip().lower()
    return (
        not kind or kind.startswith("text/") or kind.endswith(("json", "xml", "javascript")) or "+xml" in kind
    )


async def _target(ctx: ToolContext, args: WebFetchArgs) -> tuple[SandboxSession, bool]:
    """The session the request goes out from, and whether it was started for this call (a new
    one has network `direct`)."""
    if args.session_id is not None:
        return await sandbox_session(ctx, args.session_id), False
    body = SessionCreate(
        session_type="sandbox",
        workspace=args.workspace,
        ephemeral=args.workspace is None,
        network=NetworkIn(mode="direct"),
    )
    created = await sessions.create_session(ctx.db, ctx.actor, runtime_of(ctx.app), body)
    return created.row, created.created


async def fetch_in(ctx: ToolContext, row: SandboxSession, url: str, max_bytes: int) -> dict[str, Any]:
    """Fetch `url` from inside the session `row` (whose network must not be `none`)."""
    mode = str((row.network or {}).get("mode", "none"))
    if mode == "none":
        raise ToolError(
            f"sandbox session {row.id} has no network (network mode 'none'): web_fetch needs a sandbox "
            "started with network 'direct' or 'proxy'",
            code="network_disabled",
        )
    command = shlex.join(["python3", "-c", FETCH_SCRIPT, url, str(max_bytes), str(FETCH_TIMEOUT_S)])
    body = ExecIn(command=command, cwd="/tmp", timeout_ms=(FETCH_TIMEOUT_S * 2 + 5) * 1000)
    result = await exec_service.run(ctx.db, ctx.actor, runtime_of(ctx.app), row, body)
    output = result.output or ""
    line = next((x for x in reversed(output.splitlines()) if x.startswith("{")), None)
    if result.timed_out:
        raise ToolError(f"fetching {url} took too long", code="timeout")
    try:
        answer = json.loads(line) if line is not None else None
    except ValueError:
        answer = None
    if not isinstance(answer, dict):
        raise ToolError(f"the fetch failed in the sandbox: {output[-500:].strip()}", code="fetch_failed")
    if "error" in answer:
        code = str(answer["error"])
        reason = str(answer.get("message", ""))[:500]
        hint = " (the host's own addresses are blocked from sandboxes)" if code == "unreachable" else ""
        raise ToolError(f"could not fetch {url}: {reason}{hint}", code=code)
    return {"session_id": str(row.id), **page(answer)}


async def web_fetch(ctx: ToolContext, args: WebFetchArgs) -> ToolResult:
    url = check_url(args.url)
    row, started = await _target(ctx, args)
    try:
        return ToolResult.of(await fetch_in(ctx, row, url, args.max_bytes))
    except BaseException:
        if started:  # the call's transaction rolls back the new row: its sandbox must not outlive it
            await sessions.end_session(runtime_of(ctx.app), row, "error")
            started = False
        raise
    finally:
        if started and row.ephemeral:
            await sessions.end_session(runtime_of(ctx.app), row, "completed")


WEB_FETCH = Tool(
    name="web_fetch",
    title="Fetch a web page",
    description=(
        "Fetch an http(s) URL from inside a sandbox (its network rules apply: the host's own addresses "
        "are never reachable) and answer its status, final URL, content type and text (HTML reduced "
        "to readable text). Target a sandbox session (session_id) or a workspace; neither: a new "
        "ephemeral sandbox with direct network, ended with the call."
    ),
    args=WebFetchArgs,
    handler=web_fetch,
    scope=lambda _a: "exec.write",
    scopes=("exec.write",),
    read_only=True,
)
