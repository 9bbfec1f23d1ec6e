"""`POST /v1/sessions/{id}/self-test`: what the sandbox itself sees."""

from __future__ import annotations

from chasm.models import SandboxSession
from chasm.sandbox.runtime import SandboxRuntime
from chasm.sessions.schemas import SelfTestOut

TOOLS = ("python3", "node", "git", "bash", "sh", "curl", "pip3", "npm")

# One line per fact, `key=value`, so the answer is parsed without guessing.
SCRIPT = "; ".join(
    [
        'echo "cwd=$(pwd)"',
        'echo "path=$PATH"',
        'echo "user=$(id -un 2>/dev/null || id -u)"',
        'echo "session_id=${CHASM_SESSION_ID:-}"',
        'echo "workspace_id=${CHASM_WORKSPACE_ID:-}"',
        'echo "workspace_root=${CHASM_WORKSPACE_ROOT:-}"',
        "for t in " + " ".join(TOOLS) + "; do "
        'if command -v "$t" >/dev/null 2>&1; then '
        'echo "tool.$t=$("$t" --version 2>&1 </dev/null | head -n 1)"; '
        'else echo "tool.$t="; fi; done',
    ]
)


async def self_test(runtime: SandboxRuntime, row: SandboxSession) -> SelfTestOut:
    result = await runtime.driver.exec(str(row.id), SCRIPT, timeout_ms=20_000)
    facts: dict[str, str] = {}
    for line in result.output.splitlines():
        key, sep, value = line.partition("=")
        if sep and key not in facts:
            facts[key] = value.strip()
    return SelfTestOut(
        session_id=facts.get("session_id") or str(row.id),
        workspace_id=facts.get("workspace_id") or None,
        workspace_root=facts.get("workspace_root") or "/workspace",
        cwd=facts.get("cwd", ""),
        path=facts.get("path", ""),
        user=facts.get("user", ""),
        tools={tool: facts.get(f"tool.{tool}") or None for tool in TOOLS},
        exit_code=result.exit_code,
    )
