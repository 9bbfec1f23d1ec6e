"""Provider names as clients send them: spec 001's (`copilot`, `cursor`, `chatgpt`, `claude`, ...)
and the harvest sources' own ids (`claude_code`, `copilot_vscode`, ...). Each name stands for the
chat providers it covers, so a filter or a harvest request may use either."""

from __future__ import annotations

from chasm.harvest import registry
from chasm.harvest.exceptions import UnknownProvider

# 001's Provider.type values, and the harvest sources that record each one's chats. A name also
# covers itself: chats created through the API may carry any provider name.
SPEC001_PROVIDERS: dict[str, tuple[str, ...]] = {
    "copilot": ("copilot-vscode", "copilot-cli"),
    "cursor": ("cursor",),
    "chatgpt": ("chatgpt-export",),
    "claude": ("claude-code", "claude-ai-export"),
    "ollama": (),
    "lm-studio": (),
    "openai": ("chatgpt-export", "codex"),
    "anthropic": ("claude-code", "claude-ai-export"),
    "custom": (),
}
API_PROVIDER = "chasm"  # chats created, forked or merged through the API


def valid_names() -> list[str]:
    return sorted({*SPEC001_PROVIDERS, *registry.get_registry().sources, API_PROVIDER})


def _unknown(names: list[str]) -> UnknownProvider:
    return UnknownProvider(
        f"Unknown provider(s): {', '.join(names)}; valid: {', '.join(valid_names())}",
        details={"unknown": names, "valid": valid_names()},
    )


def chat_providers(name: str) -> tuple[str, ...]:
    """The `provider` values of the chats a filter by `name` selects."""
    sources = registry.get_registry().sources
    if name in SPEC001_PROVIDERS:
        return tuple(dict.fromkeys((name, *(s for s in SPEC001_PROVIDERS[name] if s in sources))))
    if name in sources or name == API_PROVIDER:
        return (name,)
    raise _unknown([name])


def harvest_sources(names: list[str]) -> list[str]:
    """The harvest sources a harvest request naming `names` runs (001 names expand to theirs)."""
    sources = registry.get_registry().sources
    unknown = [n for n in names if n not in SPEC001_PROVIDERS and n not in sources]
    if unknown:
        raise _unknown(unknown)
    found: list[str] = []
    for name in names:
        found.extend(SPEC001_PROVIDERS.get(name, (name,)))
    return [s for s in dict.fromkeys(found) if s in sources]


def spec001_type(source: str) -> str:
    """001's Provider.type of a harvest source: the first 001 name covering it, else `custom`."""
    for name in ("copilot", "cursor", "chatgpt", "claude", "openai"):
        if source in SPEC001_PROVIDERS[name]:
            return name
    return "custom"
