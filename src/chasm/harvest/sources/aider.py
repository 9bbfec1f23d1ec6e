"""Aider: `.aider.chat.history.md` in each repository (opt-in: configured folders are scanned
recursively for that file name; a configured file is read whatever its name).

Every "# aider chat started at YYYY-MM-DD HH:MM:SS" line starts a chat. Lines starting with "#### "
are the user's input (consecutive ones form one message); lines starting with ">" are aider's own
output (banner, confirmations, lint and command output) and become "system" messages; the text in
between is the assistant's reply. "> Main model: X" / "> Models: X" / "> Model: X" give the model and
"> Tokens: N sent, M received" the usage of the reply before it. A chat with no user input and no
reply (a start-up banner only) is skipped.

The header time is the local time of the machine that wrote the file (taken here as this machine's
time zone) and is the only timestamp. The chat's source_id is "<hash of the file path>:<start
time>" (with "#n" for a repeated start time). workspace_path is the file's directory. Resumable: a
resumed parse continues the last chat of the earlier parse.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from chasm.harvest.model import (
    ParsedChat,
    ParsedMessage,
    ParseIssue,
    ParseOutcome,
    Resume,
    SourceUnit,
    TokenUsage,
)
from chasm.harvest.sources.toolkit.coercion import as_int
from chasm.harvest.sources.toolkit.paths import walk_files

FILE_NAME = ".aider.chat.history.md"
HEADER = "# aider chat started at "


class AiderSource:
    name = "aider"
    display_name = "Aider"
    opt_in = True

    def default_roots(self, platform: str, home: Path, env: Mapping[str, str]) -> list[Path]:
        return []  # one file per repository, anywhere: configure the folders to scan

    def discover(self, roots: Iterable[Path]) -> Iterable[SourceUnit]:
        files: list[Path] = []
        folders: list[Path] = []
        for root in roots:
            # A root that is a file is taken as a chat history whatever its name (--chat-history-file).
            (files if Path(root).is_file() else folders).append(Path(root))
        for path in [*files, *walk_files(folders, lambda p: p.name == FILE_NAME)]:
            yield SourceUnit(key=str(path), paths=[path], resumable=True)

    def parse(self, unit: SourceUnit, resume: Resume | None = None) -> ParseOutcome:
        path = unit.paths[0]
        offset = resume.offset if resume else 0
        state = dict(resume.state) if resume else {}
        try:
            with open(path, "rb") as f:
                f.seek(offset)
                data = f.read()
        except OSError as exc:
            return ParseOutcome([], [ParseIssue(str(path), f"cannot read: {exc}")])
        end = data.rfind(b"\n") + 1  # only complete lines; the rest is read next time
        text = data[:end].decode("utf-8", errors="replace")
        parser = _Parser(path, state)
        chats = parser.run(text.split("\n")[:-1] if text else [])
        return ParseOutcome(chats, [], Resume(offset + end, parser.state()))


def _local_to_utc(text: str) -> datetime | None:
    try:
        naive = datetime.strptime(text.strip(), "%Y-%m-%d %H:%M:%S")
    except ValueError:
        return None
    return naive.astimezone().astimezone(UTC)


class _Parser:
    def __init__(self, path: Path, state: dict[str, Any]) -> None:
        self.path = path
        self.prefix = hashlib.sha1(str(path).encode()).hexdigest()[:12]
        self.used: dict[str, int] = dict(state.get("used") or {})
        self.chats: list[ParsedChat] = []
        self.chat: ParsedChat | None = None
        self.model: str | None = state.get("model")
        self.started: datetime | None = None
        if state.get("chat"):
            self.started = datetime.fromisoformat(state["started"]) if state.get("started") else None
            self.chat = self._new_chat(str(state["chat"]), self.started)
        self.kind: str | None = None  # the block being read: "user", "assistant", "system"
        self.lines: list[str] = []

    def state(self) -> dict[str, Any]:
        return {
            "chat": self.chat.source_id if self.chat else None,
            "started": self.started.isoformat() if self.started else None,
            "model": self.model,
            "used": self.used,
        }

    def _new_chat(self, source_id: str, started: datetime | None) -> ParsedChat:
        chat = ParsedChat(
            provider="aider",
            source_id=source_id,
            messages=[],
            workspace_path=str(self.path.parent),
            created_at=started,
            updated_at=started,
            model=self.model,
            source_path=str(self.path),
        )
        self.chats.append(chat)
        return chat

    def run(self, lines: list[str]) -> list[ParsedChat]:
        for raw in lines:
            line = raw.rstrip("\r")
            if line.startswith(HEADER):
                self._flush()
                stamp = line[len(HEADER) :].strip()
                self.started = _local_to_utc(stamp)
                key = f"{self.prefix}:{stamp}"
                count = self.used.get(key, 0)
                self.used[key] = count + 1
                self.model = None
                self.chat = self._new_chat(key if count == 0 else f"{key}#{count + 1}", self.started)
                continue
            if line.startswith("#### "):
                kind, body = "user", line[5:]
            elif line == "####":
                kind, body = "user", ""
            elif line.startswith(">"):
                kind, body = "system", line[2:] if line.startswith("> ") else line[1:]
            else:
                kind, body = "assistant", line
            if kind != self.kind:
                self._flush()
                self.kind = kind
            self.lines.append(body.rstrip() if kind != "assistant" else body.removesuffix("  "))
        self._flush()
        return [c for c in self.chats if any(m.role in ("user", "assistant") for m in c.messages)]

    def _flush(self) -> None:
        kind, lines = self.kind, self.lines
        self.kind, self.lines = None, []
        if kind is None:
            return
        if self.chat is None:
            self.chat = self._new_chat(f"{self.prefix}:start", None)
        content = "\n".join(lines).strip("\n")
        if kind == "system":
            self._system_lines(lines)
            content = "\n".join(line for line in lines if line.strip()).strip()
        if not content.strip():
            return
        message = ParsedMessage(role=kind, content=content, timestamp=self.started)
        if kind == "assistant":
            message.model = self.model
        self.chat.messages.append(message)

    def _system_lines(self, lines: list[str]) -> None:
        assert self.chat is not None
        for line in lines:
            for prefix in ("Main model: ", "Models: ", "Model: "):
                if line.startswith(prefix):
                    self.model = line[len(prefix) :].split(" with ")[0].split(",")[0].strip()
                    self.chat.model = self.chat.model or self.model
            if line.startswith("Tokens: "):
                usage = _tokens(line)
                target = next((m for m in reversed(self.chat.messages) if m.role == "assistant"), None)
                if usage is not None and target is not None and target.usage is None:
                    target.usage = usage


def _tokens(line: str) -> TokenUsage | None:
    # "Tokens: 5,244 sent, 604 received. Cost: ..." / "Tokens: 2.5k sent, 1.1k cache write, 301 received."
    body = line[len("Tokens: ") :].split(". Cost")[0]
    usage = TokenUsage()
    found = False
    for part in body.split(", "):
        words = part.strip().rstrip(".").split(" ", 1)
        if len(words) != 2:
            continue
        number, what = _number(words[0]), words[1]
        if number is None:
            continue
        found = True
        if what == "sent":
            usage.input_tokens = number
        elif what == "received":
            usage.output_tokens = number
        elif what == "cache hit":
            usage.cache_read_tokens = number
        elif what == "cache write":
            usage.cache_write_tokens = number
    return usage if found else None


def _number(text: str) -> int | None:
    text = text.replace(",", "").lower()
    scale = 1
    if text.endswith("k"):
        scale, text = 1000, text[:-1]
    elif text.endswith("m"):
        scale, text = 1_000_000, text[:-1]
    try:
        return as_int(float(text) * scale)
    except ValueError:
        return None


source = AiderSource()
