"""The same query finds the same chats on SQLite and on PostgreSQL.

The real fixture transcripts are harvested (laid out where each tool's discovery looks), then each
query of the table below must find exactly the chats it names. The expectations are the same for
both databases and CI runs this file on each, so the two runs together prove that both engines
agree: words, stems, stop words, phrases, prefixes, exclusions, file names and paths, code
identifiers, CJK words inside longer runs (Japanese, Chinese, Korean), diacritics and two-letter
words (see migrations 0014 and 0020 for how PostgreSQL tokenises as SQLite's FTS5 index does).
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import httpx

from chasm.harvest import registry
from shared_fixtures import TRANSCRIPTS

# query -> the chats it finds ("provider:source id", sorted), or (how many, digest of that list)
# where the list is long. Every CJK character is a word of its own on both databases (migration
# 0020): a CJK query word is found wherever it is a substring (`分析` inside a longer run).
EXPECTED: dict[str, list[str] | tuple[int, str]] = {
    "hoge": [
        "claude-code:agtrace_claude_session",
        "codex:019b04ae-b1c6-7c72-a134-a4c2de66058c",
        "gemini-cli:f0a689a6-b0ac-407f-afcc-4fafa9e14e8a",
    ],
    "hoge.py": [
        "claude-code:agtrace_claude_session",
        "codex:019b04ae-b1c6-7c72-a134-a4c2de66058c",
        "gemini-cli:f0a689a6-b0ac-407f-afcc-4fafa9e14e8a",
    ],
    "myapp/hoge.py": [
        "claude-code:agtrace_claude_session",
        "codex:019b04ae-b1c6-7c72-a134-a4c2de66058c",
        "gemini-cli:f0a689a6-b0ac-407f-afcc-4fafa9e14e8a",
    ],
    "status.md": [
        "claude-code:069508a5-1193-487c-a9b5-a6f5f3ae4f98",
        "claude-code:e80aa543-6eff-4cb5-91e0-6d4e8e7951e9",
    ],
    "README": [
        "claude-code:069508a5-1193-487c-a9b5-a6f5f3ae4f98",
        "claude-code:f6108699-47cc-4b21-8ca6-3223992990b3",
        "gemini-cli:gemini_stage0_jsonl",
    ],
    "readme.md": [
        "claude-code:069508a5-1193-487c-a9b5-a6f5f3ae4f98",
        "claude-code:f6108699-47cc-4b21-8ca6-3223992990b3",
        "gemini-cli:gemini_stage0_jsonl",
    ],
    "the": (64, "c57cf4f772a63101"),
    "running": (41, "1b579f079f05167a"),
    "run": (41, "1b579f079f05167a"),
    '"create the"': [
        "aider:aider-repo_tests_fixtures_chat-history.trimmed:2024-08-06 08:47:10",
        "chatgpt-export:a0846496-b7d0-4313-9e2e-307dcadad07a",
        "claude-code:9cc4a4b0-cba8-4e56-b79f-80b730735150",
        "claude-code:agtrace_claude_session",
        "claude-code:gitai_claude-code-with-plan",
        "cline:1769053680585",
    ],
    "gemini": [
        "aider:aider-repo_tests_fixtures_chat-history.trimmed:2024-08-06 09:42:38",
        "aider:aider-repo_tests_fixtures_chat-history.trimmed:2024-08-06 12:32:55",
        "aider:zen-mcp-server_.aider.chat.history:2025-10-20 21:49:22",
        "aider:zen-mcp-server_.aider.chat.history:2025-10-23 17:04:56",
        "claude-code:e80aa543-6eff-4cb5-91e0-6d4e8e7951e9",
    ],
    "请你分析一下我这列的处理": ["aider:zen-mcp-server_.aider.chat.history:2025-10-23 17:04:56"],
    "请你分析*": ["aider:zen-mcp-server_.aider.chat.history:2025-10-23 17:04:56"],
    "分析": ["aider:zen-mcp-server_.aider.chat.history:2025-10-23 17:04:56"],
    "snake_case_name": [],
    "CamelCase": [],
    "test -hoge": (19, "c4396e882b05f251"),
    "pyproject.toml": [],
    "src/chasm": [],
    "http": (11, "01772ed71fa7a3c8"),
    "print(1+1)": [
        "claude-code:agtrace_claude_session",
        "codex:019b04ae-b1c6-7c72-a134-a4c2de66058c",
        "gemini-cli:f0a689a6-b0ac-407f-afcc-4fafa9e14e8a",
    ],
    "npm": [],
    "git status": ["windsurf:gitai_windsurf_transcripts_session-simple"],
    "plan*": ["claude-code:gitai_claude-code-with-plan", "cline:1769053680585"],
    "vsla_tensor_t": [],
    "vsla*": [
        "chatgpt-export:687be062-2808-8002-bf15-85e0a74f50c9",
        "claude-code:069508a5-1193-487c-a9b5-a6f5f3ae4f98",
        "claude-code:e80aa543-6eff-4cb5-91e0-6d4e8e7951e9",
        "claude-code:f6108699-47cc-4b21-8ca6-3223992990b3",
    ],
    "ActionSystem": ["cline:1769053680585"],
    "actionsystem": ["cline:1769053680585"],
    "DiscardCardGA": ["cline:1769053680585"],
    "index.ts": [
        "claude-code:gitai_claude-code-with-thinking",
        "continue:2dbfd673-096d-4773-b5f3-9023894a7355",
        "droid:052cb8d0-4616-488a-99fe-bfbbbe9429b3",
        "gemini-cli:session-gitai_gemini-session-simple",
    ],
    "IMPLEMENTATION_GUIDE.md": ["cline:1769053680585"],
    "vsla/src/vsla_unified.c": ["claude-code:e80aa543-6eff-4cb5-91e0-6d4e8e7951e9"],
    "tool_use_id": [],
    "xyz.md": ["windsurf:gitai_windsurf_transcripts_session-simple"],
    "d.ts": ["claude-code:gitai_example-claude-code"],
    "assert_called_once": [
        "aider:aider-repo_tests_fixtures_chat-history.trimmed:2024-08-06 08:55:14",
        "aider:aider-repo_tests_fixtures_chat-history.trimmed:2024-08-06 09:06:27",
    ],
    "请你调研一下": ["aider:zen-mcp-server_.aider.chat.history:2025-10-23 17:04:56"],
    "copy-context": ["aider:zen-mcp-server_.aider.chat.history:2025-10-23 17:04:56"],
    "/copy-context": ["aider:zen-mcp-server_.aider.chat.history:2025-10-23 17:04:56"],
    "gemini -ActionSystem": [
        "aider:aider-repo_tests_fixtures_chat-history.trimmed:2024-08-06 09:42:38",
        "aider:aider-repo_tests_fixtures_chat-history.trimmed:2024-08-06 12:32:55",
        "aider:zen-mcp-server_.aider.chat.history:2025-10-20 21:49:22",
        "aider:zen-mcp-server_.aider.chat.history:2025-10-23 17:04:56",
        "claude-code:e80aa543-6eff-4cb5-91e0-6d4e8e7951e9",
    ],
    '"final_file_content"': ["cline:1769053680585"],
    'card -"ActionSystem"': ["cline:1769053680585"],
    "tests OR ActionSystem": (21, "31262760b98552e9"),
    "Tests passed": [
        "aider:aider-repo_tests_fixtures_chat-history.trimmed:2024-08-06 08:47:10",
        "aider:aider-repo_tests_fixtures_chat-history.trimmed:2024-08-06 08:55:14",
        "aider:aider-repo_tests_fixtures_chat-history.trimmed:2024-08-06 09:06:27",
        "aider:aider-repo_tests_fixtures_chat-history.trimmed:2024-08-06 10:25:14",
        "cline:1769053680585",
        "codex:019c4b43-1451-7af3-be4c-5576369bf1ba",
    ],
    "the OR a": (67, "8ba28cc0450675ee"),
    "é": (20, "50cbe06e57ce999d"),
    "e": (20, "50cbe06e57ce999d"),
    "is": (45, "17f57f6ad6bce08f"),
    "as": (31, "0ddd813660ed40a7"),
    "a": (51, "429de401ec05823c"),
    "i": (42, "cf923a012cb49166"),
    "is*": (48, "8b0716b0ee60285a"),
    "it's": (14, "278608db10c6454b"),
    "don't": (8, "b35b0eed11301d33"),
    '"it is"': (9, "32946e043b88547f"),
    "uses": (53, "f3374c3fbbd15ffc"),
    "generously": (16, "e7de7f63c3de555e"),
    "café": [],
    "2024": ["aider:aider-repo_tests_fixtures_chat-history.trimmed:2024-08-05 20:40:10"],
    "v1.2": [],
    "user@example.com": [],
    "https://github.com": [],
    # CJK inside longer runs (the chats of CJK_CHATS below, and the Chinese Aider fixture).
    "文章": ["claude-code:cjk_chinese", "claude-code:cjk_japanese"],
    "検索": ["claude-code:cjk_japanese"],
    "检索": ["claude-code:cjk_chinese"],
    "索引": ["claude-code:cjk_chinese", "claude-code:cjk_japanese"],
    "データ": ["claude-code:cjk_japanese"],
    "の": ["claude-code:cjk_japanese"],
    '"全文検索"': ["claude-code:cjk_japanese"],
    "全文 -検索": ["claude-code:cjk_chinese"],
    "検索*": ["claude-code:cjk_japanese"],
    "调研": ["aider:zen-mcp-server_.aider.chat.history:2025-10-23 17:04:56"],
    "검색": ["claude-code:cjk_korean"],
    "색인": ["claude-code:cjk_korean"],
    "문장": ["claude-code:cjk_korean"],
    "文章 OR 검색": ["claude-code:cjk_chinese", "claude-code:cjk_japanese", "claude-code:cjk_korean"],
    "SQLite入門": ["claude-code:cjk_japanese"],
    "章検": [],
    "색인 -검색": [],
}

# Claude Code sessions written beside the fixtures: (source id, user prompt, assistant reply).
CJK_CHATS = [
    (
        "cjk_japanese",
        "日本語の文章を検索する方法を教えてください。",
        "全文検索ではデータベースの索引を使います。カタカナのデータも見つかります。SQLite入門の本も参考に。",
    ),
    ("cjk_chinese", "如何在中文文本中进行全文检索？", "可以使用数据库的全文索引来检索文章。"),
    (
        "cjk_korean",
        "한국어 문장에서 검색어를 찾는 방법을 알려 주세요.",
        "데이터베이스 색인을 사용하면 검색이 빨라집니다.",
    ),
]


def write_cjk_chats(folder: Path) -> None:
    for source_id, prompt, reply in CJK_CHATS:
        common = {"cwd": "/tmp", "sessionId": source_id, "version": "2.1.80", "isSidechain": False}
        lines = [
            {
                **common,
                "parentUuid": None,
                "type": "user",
                "uuid": f"{source_id}-u",
                "timestamp": "2026-01-05T10:00:00.000Z",
                "message": {"role": "user", "content": prompt},
            },
            {
                **common,
                "parentUuid": f"{source_id}-u",
                "type": "assistant",
                "uuid": f"{source_id}-a",
                "timestamp": "2026-01-05T10:00:05.000Z",
                "message": {"role": "assistant", "content": [{"type": "text", "text": reply}]},
            },
        ]
        text = "".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines)
        (folder / f"{source_id}.jsonl").write_text(text, encoding="utf-8")


def lay_out(tree: Path) -> dict[str, list[str]]:
    """The fixtures where each tool's discovery looks for them: a harvest root per source."""
    sources = registry.get_registry().sources
    moved = ("codex", "gemini-cli", "aider", "cline")
    for name in sources:
        if (TRANSCRIPTS / name).is_dir() and name not in moved:
            shutil.copytree(TRANSCRIPTS / name, tree / name, copy_function=shutil.copyfile)
    for i, path in enumerate(sorted((TRANSCRIPTS / "codex").glob("*.jsonl"))):
        day = tree / "codex" / "2026" / "01" / f"{i + 1:02d}"
        place(path, day / f"rollout-2026-01-01T00-00-00-{path.stem}.jsonl")
    for path in sorted((TRANSCRIPTS / "gemini-cli").iterdir()):
        place(path, tree / "gemini-cli" / path.stem / "chats" / f"session-{path.name}")
    for path in sorted((TRANSCRIPTS / "aider").glob("*.md")):
        place(path, tree / "aider" / path.stem / ".aider.chat.history.md")
    for task in sorted((TRANSCRIPTS / "cline").iterdir()):
        dest = tree / "cline" / "tasks" / task.name.rsplit("_", 1)[-1]
        shutil.copytree(task, dest, copy_function=shutil.copyfile)
    write_cjk_chats(tree / "claude-code")
    return {name: [str(tree / name)] for name in sources if (tree / name).is_dir()}


def place(src: Path, dest: Path) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src, dest)


def key(chat: dict[str, str]) -> str:
    """provider:source id; Aider's ids start with a hash of the file's path, named here by its folder."""
    source_id = chat["source_id"]
    if chat["provider"] == "aider":
        source_id = Path(chat["source_path"]).parent.name + ":" + source_id.split(":", 1)[1]
    return f"{chat['provider']}:{source_id}"


async def search(client: httpx.AsyncClient, q: str) -> list[str] | tuple[int, str]:
    found: list[str] = []
    while True:
        params = {"q": q, "limit": 100, "offset": len(found)}
        response = await client.get("/api/search/sessions", params=params)
        assert response.status_code == 200, response.text
        page = response.json()["data"]
        found += [key(s) for s in page]
        if len(page) < 100:
            break
    found.sort()
    if len(found) <= 6:
        return found
    return len(found), hashlib.sha256("\n".join(found).encode()).hexdigest()[:16]


async def test_queries_find_the_same_chats_on_both_databases(
    client: httpx.AsyncClient, tmp_path: Path
) -> None:
    roots = lay_out(tmp_path / "transcripts")
    put = await client.put("/api/settings", json={"harvest": {"roots": roots}})
    assert put.status_code == 200, put.text
    harvested = await client.post("/api/harvest", json={"providers": sorted(roots)})
    assert harvested.status_code == 200, harvested.text
    assert harvested.json()["data"]["sessions_count"] > 60, harvested.text[:3000]

    found = {q: await search(client, q) for q in EXPECTED}

    assert {q: got for q, got in found.items() if got != EXPECTED[q]} == {}
