"""Dashboard render times, measured by the browser's own performance timing.

    uv run python -m bench.dashboard [--messages 2000] [--chats 300] [--runs 3]

Starts a real server on 127.0.0.1 (fresh data dir, SQLite) serving the built dashboard, fills the
library with --chats chats and one chat of --messages messages (Markdown with code blocks), then
opens each page in this machine's Chromium (/usr/bin/chromium) and reads `performance.now()` once
the page shows its data:

- yardstick: the app booting on a page without data (its "Not found" route);
- chat list: the first page of the library listed;
- long chat, first screen: its first messages shown (from a small first request);
- long chat, laid out: the whole chat loaded and laid out, scrollable end to end, the messages near
  the viewport rendered (the view renders a long chat in chunks of 40 messages: a chunk near the
  viewport at once, the others in their place as the page idles);
- long chat, every message in the page: the last chunk filled in (find-in-page sees it all).

Prints the median of --runs runs of each, and the first load's size compressed (gzip) from the
built files. Goal (issue 16): the chat list and a 2,000-message chat under 1 s, the first load under
500 KB compressed. Figures only, no asserts. Needs the dashboard built (./scripts/bootstrap.sh).
"""

from __future__ import annotations

import argparse
import gzip
import os
import re
import socket
import statistics
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from chasm.app import create_app
from chasm.config import Settings
from chasm.webui.spa import DIST, built

BROWSER_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
MESSAGE = """Here is step {i} of the plan.

- check the **input** and the `config`
- then run the tests

```python
def step_{i}(value: int) -> int:
    # double it, then add {i}
    return value * 2 + {i}
```

The result should be `{i}` more than twice the value.
"""


def first_load_bytes(dist: Path) -> tuple[int, int]:
    """(raw, gzip) bytes of index.html and the scripts and styles it loads up front."""
    index = (dist / "index.html").read_text()
    files = [dist / "index.html"] + [
        dist / ref.lstrip("/") for ref in re.findall(r'(?:src|href)="(/assets/[^"]+)"', index)
    ]
    raw = sum(f.stat().st_size for f in files)
    packed = sum(len(gzip.compress(f.read_bytes(), 9)) for f in files)
    return raw, packed


def serve(tmp: Path) -> tuple[uvicorn.Server, str, str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    settings = Settings(
        data_dir=tmp / "data",
        database_url=f"sqlite+aiosqlite:///{tmp / 'chasm.db'}",
        secret_key="bench-" + uuid.uuid4().hex,
        host="127.0.0.1",
        port=port,
    )
    app = create_app(settings)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    return server, f"http://127.0.0.1:{port}", app.state.bootstrap_key


def fill(client: httpx.Client, chats: int, messages: int) -> str:
    for n in range(chats):
        body = {
            "title": f"Bench chat {n}: refactor the parser",
            "provider": "claude-code",
            "tags": ["bench"],
            "messages": [
                {"role": "user", "content": f"question {n}"},
                {"role": "assistant", "content": f"answer {n}"},
            ],
        }
        client.post("/api/sessions", json=body).raise_for_status()
    long_chat = {
        "title": f"A {messages}-message chat",
        "provider": "claude-code",
        "messages": [
            {"role": "user" if i % 2 == 0 else "assistant", "content": MESSAGE.format(i=i)}
            for i in range(messages)
        ],
    }
    response = client.post("/api/sessions", json=long_chat, timeout=120)
    response.raise_for_status()
    chat_id: str = response.json()["data"]["id"]
    return chat_id


def measure(page: Any, url: str, ready: str) -> float:
    page.goto("about:blank")
    page.goto(url)
    page.wait_for_function(ready, timeout=60_000)
    elapsed: float = page.evaluate("performance.now()")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--chats", type=int, default=300)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    args = parser.parse_args()
    if not built():
        raise SystemExit(f"The dashboard is not built ({DIST}): run ./scripts/bootstrap.sh")
    from playwright.sync_api import sync_playwright

    raw, packed = first_load_bytes(DIST)
    print(f"first load: {raw / 1024:.0f} KB, {packed / 1024:.0f} KB gzip (goal < 500 KB gzip)")
    with tempfile.TemporaryDirectory() as tmp:
        server, url, key = serve(Path(tmp))
        try:
            with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=60) as client:
                started = time.monotonic()
                chat_id = fill(client, args.chats, args.messages)
                print(
                    f"library: {args.chats} chats + one of {args.messages} messages "
                    f"({time.monotonic() - started:.1f} s)"
                )
            pages = {
                "yardstick (app, no data)": (f"{url}/nothing-here", "document.querySelector('main h1')"),
                "chat list (first page)": (
                    f"{url}/chats",
                    "document.querySelectorAll('ul[aria-label=Chats] li').length > 0",
                ),
                f"chat of {args.messages}: first screen": (
                    f"{url}/chats/{chat_id}",
                    f"document.documentElement.dataset.chatFirstScreen === '{chat_id}'",
                ),
                f"chat of {args.messages}: laid out": (
                    f"{url}/chats/{chat_id}",
                    f"document.documentElement.dataset.chatRendered === '{chat_id}'",
                ),
                f"chat of {args.messages}: every message in": (
                    f"{url}/chats/{chat_id}",
                    f"document.documentElement.dataset.chatComplete === '{chat_id}'",
                ),
            }
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=args.chromium, args=BROWSER_ARGS)
                page = browser.new_page(viewport={"width": 1280, "height": 800})
                measure(
                    page, f"{url}/chats", pages["chat list (first page)"][1]
                )  # warm: local sign-in, caches
                for name, (target, ready) in pages.items():
                    times = [measure(page, target, ready) for _ in range(args.runs)]
                    print(
                        f"{name:34s} median {statistics.median(times):7.0f} ms  "
                        f"(runs: {', '.join(f'{t:.0f}' for t in times)})"
                    )
                api = page.evaluate(
                    "Math.max(...performance.getEntriesByType('resource')"
                    f".filter(e => e.name.endsWith('/api/sessions/{chat_id}')).map(e => e.responseEnd))"
                )
                print(
                    f"  of which the long chat's API answer (1 request, all messages) arrived at {api:.0f} ms"
                )
                count = page.evaluate("document.querySelectorAll('article.msg').length")
                print(f"messages in the page after the long chat rendered: {count}")
                load = " ".join(f"{x:.2f}" for x in os.getloadavg())
                print(f"load average: {load} ({os.cpu_count()} CPUs)")
                browser.close()
        finally:
            server.should_exit = True


if __name__ == "__main__":
    main()
