"""Parse throughput of the set-A harvest sources (no database): MB/s per source.

    uv run python -m bench.harvest_parsers_a [--mb 40] [--dir /tmp/chasm-bench-parsers-a]

Builds, per source, a corpus of about --mb megabytes from the real samples in
shared/fixtures/transcripts (copies of every sample, plus one large Claude Code and one large Codex
session made of a sample's lines repeated with fresh ids), then discovers and parses it
single-threaded, cold (the corpus is written before timing, so the page cache is warm: the figure is
the parser's). Prints figures only.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import shutil
import time
import uuid
from pathlib import Path

from chasm.harvest.parsing import guarded_parse

FIXTURES = Path(__file__).resolve().parents[1].parent / "shared" / "fixtures" / "transcripts"
if not FIXTURES.exists():
    FIXTURES = Path(os.environ.get("CHASM_FIXTURES", "/work/shared/fixtures")) / "transcripts"

# module, fixture folder, layout: (sample glob, destination name pattern)
SOURCES = {
    "claude_code": ("claude-code", "**/*.jsonl", "proj-{i}/{stem}-{i}.jsonl"),
    "codex": ("codex", "*.jsonl", "2025/01/{i:02d}/rollout-{stem}-{i}.jsonl"),
    "gemini_cli": ("gemini-cli", "*.json*", "h{i}/chats/session-{stem}-{i}{suffix}"),
    "aider": ("aider", "*.chat.history.md", "repo-{i}/.aider.chat.history.md"),
    "chatgpt_export": ("chatgpt-export", "*.json", "export-{i}/{stem}.json"),
    "amp": ("amp", "*.json", "T-{stem}-{i}.json"),
    "droid": ("droid", "*session.jsonl", "cwd-{i}/{stem}.jsonl"),
}


def build(module: str, root: Path, megabytes: int) -> int:
    folder, pattern, layout = SOURCES[module]
    samples = sorted((FIXTURES / folder).glob(pattern))
    if module == "aider":
        samples = sorted((FIXTURES / folder).glob("*.md"))
    target = megabytes * 1024 * 1024
    written = 0
    i = 0
    if module in ("claude_code", "codex"):
        written += _big_session(module, root, target // 2)
    while written < target:
        for sample in samples:
            dest = root / layout.format(i=i, stem=sample.stem, suffix=sample.suffix)
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(sample, dest)
            written += dest.stat().st_size
        i += 1
    return written


def _big_session(module: str, root: Path, size: int) -> int:
    """One long session: a real sample's conversation lines repeated with fresh uuids, chained."""
    if module == "claude_code":
        sample = (
            FIXTURES
            / "claude-code"
            / "vsla_projects"
            / "-home-kenth56-vsla"
            / "e80aa543-6eff-4cb5-91e0-6d4e8e7951e9.jsonl"
        )
        dest = root / "big" / f"{uuid.uuid4()}.jsonl"
    else:
        sample = FIXTURES / "codex" / "agtrace_codex_session.jsonl"
        dest = root / "2025" / "02" / "01" / f"rollout-2025-02-01T00-00-00-{uuid.uuid4()}.jsonl"
    records = [json.loads(line) for line in sample.read_text().splitlines() if line.strip()]
    dest.parent.mkdir(parents=True, exist_ok=True)
    written = 0
    last: str | None = None
    first_round = True
    with open(dest, "w") as f:
        while written < size:
            for rec in records:
                if module == "codex" and rec.get("type") == "session_meta" and not first_round:
                    continue
                if module == "claude_code" and "uuid" in rec:
                    rec = dict(rec, uuid=str(uuid.uuid4()), parentUuid=last)
                    last = rec["uuid"]
                    msg = rec.get("message")
                    if isinstance(msg, dict) and msg.get("id"):
                        rec["message"] = dict(msg, id=f"msg_{uuid.uuid4().hex}")
                line = json.dumps(rec) + "\n"
                f.write(line)
                written += len(line)
            first_round = False
    return written


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mb", type=int, default=40)
    parser.add_argument("--dir", default="/tmp/chasm-bench-parsers-a")
    args = parser.parse_args()
    base = Path(args.dir)
    shutil.rmtree(base, ignore_errors=True)
    total_bytes = 0
    total_seconds = 0.0
    print(f"{'source':<16}{'MB':>8}{'units':>8}{'chats':>8}{'messages':>10}{'seconds':>9}{'MB/s':>8}")
    for module in SOURCES:
        source = importlib.import_module(f"chasm.harvest.sources.{module}").source
        root = base / module
        size = build(module, root, args.mb)
        start = time.perf_counter()
        units = list(source.discover([root]))
        chats = messages = 0
        for unit in units:
            outcome, _ = guarded_parse(source, unit)  # as the engine runs it: collector paused
            chats += len(outcome.chats)
            messages += sum(len(c.messages) for c in outcome.chats)
        seconds = time.perf_counter() - start
        total_bytes += size
        total_seconds += seconds
        mb = size / 1024 / 1024
        rate = mb / seconds
        print(f"{module:<16}{mb:>8.1f}{len(units):>8}{chats:>8}{messages:>10}{seconds:>9.2f}{rate:>8.1f}")
    total_mb = total_bytes / 1024 / 1024
    print(f"{'all':<16}{total_mb:>8.1f}{'':>26}{total_seconds:>9.2f}{total_mb / total_seconds:>8.1f}")
    shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
