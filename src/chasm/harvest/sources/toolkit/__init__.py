"""Helpers for writing a harvest source, one module per topic; every one is a pure function or a
small class that never raises for bad content (a third-party source may use them too):

- `jsonl`: JSON and JSONL files (from a byte offset, for resumable logs), orjson first.
- `timestamps`: any timestamp a tool writes, as an aware UTC datetime; a chat's time bounds.
- `coercion`: values of an expected type or a neutral default; text of nested content.
- `blocks`: Anthropic-style content lists (and the AI SDK's names) sorted into text, thinking,
  tool calls and tool results.
- `toolcalls`: tool results attached to the calls they answer.
- `usage`: token usage and a chat's main model.
- `paths`: finding files: walks, folder listings, per-platform folders.
- `sqlite_readonly`: a tool's SQLite database, opened without ever locking or writing it.
- `vscode_storage`: VS Code-family `state.vscdb` and `workspaceStorage` folders.
- `titles`: a chat's fallback title (its first real prompt) and the injected wrapper records
  (command output, caveats, reminders) that are stored as system messages.

The harvest runs every `parse` under one guard (`harvest.parsing.guarded_parse`: the garbage
collector paused, an exception turned into an issue), so sources do neither themselves.
"""
