"""Parse throughput of every built-in harvest source (no database): MB/s per source.

    uv run python -m bench.harvest_parsers [--mb 40] [--only claude_code,codex]

Builds, per source, a corpus of about --mb megabytes from the real samples in
shared/fixtures/transcripts, laid out where the tool keeps them: copies of every sample, and for
the log-shaped tools one long session grown from a sample (Claude Code and Codex sessions with
fresh ids, a Copilot CLI log, a VS Code chat-session mutation log, a Cline task, a Cursor agent
transcript, a Windsurf transcript). Then discovers and parses it single-threaded, each unit under
the guard the engine uses (`guarded_parse`), and prints the figures. The corpus is written before
timing, so the page cache is warm: the figure is the parser's. CPU seconds too: on a shared
machine the wall clock also counts other processes.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import shutil
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from chasm.harvest.parsing import guarded_parse

FIXTURES = Path(__file__).resolve().parents[1].parent / "shared" / "fixtures" / "transcripts"
if not FIXTURES.exists():
    FIXTURES = Path(os.environ.get("CHASM_FIXTURES", "/work/shared/fixtures")) / "transcripts"

# module, fixture folder, layout: (sample glob, destination name pattern)
SAMPLE_LAYOUTS = {
    "claude_code": ("claude-code", "**/*.jsonl", "proj-{i}/{stem}-{i}.jsonl"),
    "codex": ("codex", "*.jsonl", "2025/01/{i:02d}/rollout-{stem}-{i}.jsonl"),
    "gemini_cli": ("gemini-cli", "*.json*", "h{i}/chats/session-{stem}-{i}{suffix}"),
    "aider": ("aider", "*.chat.history.md", "repo-{i}/.aider.chat.history.md"),
    "chatgpt_export": ("chatgpt-export", "*.json", "export-{i}/{stem}.json"),
    "amp": ("amp", "*.json", "T-{stem}-{i}.json"),
    "droid": ("droid", "*session.jsonl", "cwd-{i}/{stem}.jsonl"),
}


def from_samples(module: str, root: Path, target: int) -> int:
    """Copies of every sample of the tool (plus, for Claude Code and Codex, one long session)."""
    folder, pattern, layout = SAMPLE_LAYOUTS[module]
    samples = sorted((FIXTURES / folder).glob(pattern))
    if module == "aider":
        samples = sorted((FIXTURES / folder).glob("*.md"))
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


def _copy(src: Path, dest: Path) -> int:
    if src.is_dir():
        return sum(_copy(p, dest / p.relative_to(src)) for p in sorted(src.rglob("*")) if p.is_file())
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src, dest)
    return dest.stat().st_size


def _copies(root: Path, target: int, place: Callable[[Path, int], int]) -> int:
    written, i = 0, 0
    while written < target:
        written += place(root, i)
        i += 1
    return written


def _repeat_lines(sample: Path, dest: Path, size: int, skip_first_after: bool = True) -> int:
    lines = [line for line in sample.read_bytes().splitlines(keepends=True) if line.strip()]
    dest.parent.mkdir(parents=True, exist_ok=True)
    written = 0
    with open(dest, "wb") as handle:
        first = True
        while written < size:
            for line in lines[(0 if first or not skip_first_after else 1) :]:
                handle.write(line)
                written += len(line)
            first = False
    return written


def copilot_cli(root: Path, size: int) -> int:
    state = root / "session-state"
    big = _repeat_lines(
        FIXTURES / "copilot-cli" / "agentsessions_copilot_cli_small.jsonl",
        state / "big" / "events.jsonl",
        size // 2,
    )

    def place(root: Path, i: int) -> int:
        return sum(
            _copy(p, state / f"s{i}-{p.stem}" / "events.jsonl")
            for p in sorted((FIXTURES / "copilot-cli").glob("*"))
        )

    return big + _copies(root, size - big, place)


def copilot_vscode(root: Path, size: int) -> int:
    ws = root / "workspaceStorage" / "bench"
    sample = json.loads(
        (FIXTURES / "copilot-vscode" / "gitai_chatSessions_copilot_session_simple.json").read_text()
    )
    requests = sample.pop("requests")
    sample["requests"] = []
    dest = ws / "chatSessions" / "big.jsonl"
    dest.parent.mkdir(parents=True, exist_ok=True)
    written = 0
    with open(dest, "w") as handle:
        handle.write(json.dumps({"kind": 0, "v": sample}) + "\n")
        count = 0
        while written < size // 2:
            line = json.dumps({"kind": 2, "k": ["requests"], "v": requests}) + "\n"
            line += json.dumps({"kind": 1, "k": ["requests", count, "isCanceled"], "v": False}) + "\n"
            count += len(requests)
            handle.write(line)
            written += len(line)

    def place(root: Path, i: int) -> int:
        folder = root / "workspaceStorage" / f"w{i}"
        return sum(
            _copy(
                p,
                folder
                / ("GitHub.copilot-chat/transcripts" if "transcripts" in p.name else "chatSessions")
                / p.name,
            )
            for p in sorted((FIXTURES / "copilot-vscode").glob("*"))
        )

    return written + _copies(root, size - written, place)


def cline(root: Path, size: int) -> int:
    task = FIXTURES / "cline" / "gmfstu_tasks_1769053680585"
    history = json.loads((task / "api_conversation_history.json").read_text())
    ui = json.loads((task / "ui_messages.json").read_text())
    big = root / "tasks" / "big"
    big.mkdir(parents=True)
    rounds = max(1, (size // 2) // ((task / "api_conversation_history.json").stat().st_size * 2))
    (big / "api_conversation_history.json").write_text(json.dumps(history * rounds))
    (big / "ui_messages.json").write_text(json.dumps(ui * rounds))
    written = sum(p.stat().st_size for p in big.iterdir())
    return written + _copies(root, size - written, lambda r, i: _copy(task, r / "tasks" / f"t{i}"))


def cursor(root: Path, size: int) -> int:
    def place(root: Path, i: int) -> int:
        n = _copy(
            FIXTURES / "cursor" / "chatrxiv_workspaceStorage_10770782bbd95d5ae0035836c987047a",
            root / "User" / "workspaceStorage" / f"w{i}",
        )
        n += _copy(
            FIXTURES / "cursor" / "agentsessions_cursor_cli_chats_store.db",
            root / "chats" / "h" / f"a{i}" / "store.db",
        )
        for p in sorted((FIXTURES / "cursor").glob("*.jsonl")):
            n += _copy(p, root / "projects" / f"p{i}" / "agent-transcripts" / p.name)
        return n

    big = _repeat_lines(
        FIXTURES / "cursor" / "gitai_cursor_agent-transcript_session-simple.jsonl",
        root / "projects" / "big" / "agent-transcripts" / "big.jsonl",
        size // 2,
        skip_first_after=False,
    )
    return big + _copies(root, size - big, place)


def continue_dev(root: Path, size: int) -> int:
    sample = FIXTURES / "continue" / "gitai_continue-cli-session-simple.json"
    return _copies(root, size, lambda r, i: _copy(sample, r / "sessions" / f"s{i}.json"))


def opencode(root: Path, size: int) -> int:
    def place(root: Path, i: int) -> int:
        n = _copy(FIXTURES / "opencode" / "gitai_opencode-sqlite" / "opencode.db", root / f"opencode-{i}.db")
        for tree in ("agentsessions_storage_v2", "gitai_opencode-storage"):
            n += _copy(FIXTURES / "opencode" / tree, root / f"r{i}" / tree)
        return n

    written = _copies(root, size, place)
    return written


def windsurf(root: Path, size: int) -> int:
    sample = FIXTURES / "windsurf" / "gitai_windsurf_transcripts_session-simple.jsonl"
    big = _repeat_lines(sample, root / "transcripts" / "big.jsonl", size // 2, skip_first_after=False)
    return big + _copies(root, size - big, lambda r, i: _copy(sample, r / "transcripts" / f"t{i}.jsonl"))


BUILDERS: dict[str, tuple[Callable[[Path, int], int], Callable[[Path], list[Path]]]] = {
    **{
        module: (lambda root, size, module=module: from_samples(module, root, size), lambda r: [r])
        for module in SAMPLE_LAYOUTS
    },
    "copilot_cli": (copilot_cli, lambda r: [r]),
    "copilot_vscode": (copilot_vscode, lambda r: [r]),
    "cursor": (cursor, lambda r: [r / "User", r]),
    "cline": (cline, lambda r: [r]),
    "continue_dev": (continue_dev, lambda r: [r]),
    "opencode": (opencode, lambda r: [r, *sorted(r.glob("r*/*"))]),
    "windsurf": (windsurf, lambda r: [r]),
}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mb", type=int, default=40)
    parser.add_argument("--dir", default="/tmp/chasm-bench-parsers")
    parser.add_argument("--only", default="", help="comma-separated source modules (default: all)")
    args = parser.parse_args()
    base = Path(args.dir)
    shutil.rmtree(base, ignore_errors=True)
    total_bytes = 0
    total_seconds = total_cpu = 0.0
    # CPU seconds too: on a shared machine the wall clock also counts other processes.
    header = f"{'source':<16}{'MB':>8}{'units':>8}{'chats':>8}{'messages':>10}{'seconds':>9}{'MB/s':>8}"
    print(f"{header}{'cpu s':>8}{'MB/cpu s':>10}")
    only = {m for m in args.only.split(",") if m}
    for module, (build, roots) in BUILDERS.items():
        if only and module not in only:
            continue
        source = importlib.import_module(f"chasm.harvest.sources.{module}").source
        root = base / module
        root.mkdir(parents=True)
        size = build(root, args.mb * 1024 * 1024)
        start = time.perf_counter()
        cpu_start = time.process_time()
        units = list(source.discover(roots(root)))
        chats = messages = issues = 0
        for unit in units:
            outcome, _ = guarded_parse(source, unit)  # as the engine runs it: collector paused
            chats += len(outcome.chats)
            messages += sum(len(c.messages) for c in outcome.chats)
            issues += len(outcome.issues)
        seconds = time.perf_counter() - start
        cpu = time.process_time() - cpu_start
        total_cpu += cpu
        total_bytes += size
        total_seconds += seconds
        mb = size / 1024 / 1024
        print(
            f"{module:<16}{mb:>8.1f}{len(units):>8}{chats:>8}{messages:>10}"
            f"{seconds:>9.2f}{mb / seconds:>8.1f}{cpu:>8.2f}{mb / cpu:>10.1f}"
        )
        if issues:
            print(f"  ({issues} issues)")
    total_mb = total_bytes / 1024 / 1024
    print(
        f"{'all':<16}{total_mb:>8.1f}{'':>26}{total_seconds:>9.2f}{total_mb / total_seconds:>8.1f}"
        f"{total_cpu:>8.2f}{total_mb / total_cpu:>10.1f}"
    )
    shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
