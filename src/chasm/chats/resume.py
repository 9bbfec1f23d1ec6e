"""The command that reopens a harvested chat in the tool that recorded it.

Each tool's own way to continue a session by id (see docs/harvest-sources.md, "Resuming a chat"):
it is run in the chat's project folder where the tool keys its sessions by folder. Tools that keep
chats in an editor, an export or a web app have no such command: the answer says so.
"""

from __future__ import annotations

import re
import shlex
import uuid
from dataclasses import dataclass
from pathlib import PurePath

from sqlalchemy.ext.asyncio import AsyncSession

from chasm.auth.actor import Actor
from chasm.chats import repository as repo
from chasm.chats.exceptions import ChatNotFound
from chasm.models import Chat, ChatWorkspace

# provider -> the argv that resumes session `{id}`, and whether it must run in the project folder.
COMMANDS: dict[str, tuple[tuple[str, ...], bool]] = {
    "claude-code": (("claude", "--resume", "{id}"), True),
    "codex": (("codex", "resume", "{id}"), True),
    "gemini-cli": (("gemini", "--resume", "{id}"), True),
    "copilot-cli": (("copilot", "--resume", "{id}"), True),
    "opencode": (("opencode", "--session", "{id}"), True),
    "amp": (("amp", "threads", "continue", "{id}"), False),
    "aider": (("aider", "--restore-chat-history"), True),
}
NOT_RESUMABLE = {
    "chatgpt-export": "a ChatGPT export is an archive: continue the conversation at chatgpt.com",
    "claude-ai-export": "a claude.ai export is an archive: continue the conversation at claude.ai",
    "cline": "Cline keeps its tasks in VS Code: reopen the task from Cline's history panel",
    "roo-code": "Roo Code keeps its tasks in VS Code: reopen the task from Roo Code's history panel",
    "continue": "Continue keeps its sessions in the editor: reopen it from Continue's history",
    "cursor": "Cursor keeps its chats in the editor: reopen it from Cursor's chat history",
    "windsurf": "Windsurf keeps its chats in the editor: reopen it from Cascade's history",
    "copilot-vscode": "Copilot Chat keeps its sessions in VS Code: reopen it from the chat history",
    "droid": "Factory's droid has no command that resumes a session by id",
}


@dataclass(frozen=True)
class ResumeCommand:
    provider: str
    command: str | None  # a shell line (quoted), None when the tool cannot resume this chat
    cwd: str | None  # where it must run; None when the tool does not care or the folder is unknown
    reason: str | None  # why there is no command, or a caveat beside it


async def resume_command(db: AsyncSession, actor: Actor, chat_id: uuid.UUID) -> ResumeCommand:
    chat = await repo.get_chat(db, actor.account_id, chat_id)
    if chat is None:
        raise ChatNotFound()
    folder = None
    if chat.workspace_id is not None:
        workspace = await db.get(ChatWorkspace, chat.workspace_id)
        folder = workspace.path if workspace is not None else None
    return command_for(chat, folder)


def command_for(chat: Chat, folder: str | None) -> ResumeCommand:
    provider = chat.provider
    if provider not in COMMANDS:
        reason = NOT_RESUMABLE.get(provider, f"{provider} chats are not recorded by a tool that resumes them")
        return ResumeCommand(provider, None, None, reason)
    if provider == "claude-code" and (chat.parent_chat_id is not None or chat.parent_source_id is not None):
        return ResumeCommand(
            provider, None, None, "a sub-agent's chat is resumed through its parent chat, not on its own"
        )
    argv, in_folder = COMMANDS[provider]
    if provider == "claude-code" and folder:
        folder = claude_project_folder(folder, chat.source_path)
    line = shlex.join(part.format(id=chat.source_id) for part in argv)
    caveat = None
    if in_folder and folder:
        line = f"cd {shlex.quote(folder)} && {line}"
    elif in_folder:
        caveat = "the chat's project folder is unknown: run it where the chat was recorded"
    return ResumeCommand(provider, line, folder if in_folder else None, caveat)


def claude_project_folder(cwd: str, source_path: str | None) -> str:
    """Claude Code files a session under the folder it started in (`projects/<escaped folder>/`),
    and `--resume` looks there; the chat's last working folder may be below it."""
    if not source_path:
        return cwd
    escaped = PurePath(source_path).parent.name
    for candidate in (PurePath(cwd), *PurePath(cwd).parents):
        if re.sub(r"[^A-Za-z0-9]", "-", str(candidate)) == escaped:
            return str(candidate)
    return cwd
