"""Token usage as tools record it, and the model that answered a chat."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any

from chasm.harvest.model import ParsedMessage, TokenUsage
from chasm.harvest.sources.toolkit.coercion import as_int


def usage_from_anthropic(usage: Any) -> TokenUsage | None:
    """Anthropic's `usage` object (snake_case or camelCase keys)."""
    if not isinstance(usage, dict):
        return None
    return TokenUsage(
        _usage_field(usage, "input_tokens", "inputTokens"),
        _usage_field(usage, "output_tokens", "outputTokens"),
        _usage_field(usage, "cache_read_input_tokens", "cacheReadInputTokens"),
        _usage_field(usage, "cache_creation_input_tokens", "cacheCreationInputTokens"),
    )


def _usage_field(usage: dict[str, Any], key: str, alias: str) -> int:
    """`usage[key]` when the key is there (whatever its value), else `usage[alias]`, as an int."""
    value = usage[key] if key in usage else usage.get(alias)
    return value if value.__class__ is int else as_int(value)  # type: ignore[no-any-return]


def usage_from_openai(raw: dict[str, Any]) -> TokenUsage:
    """OpenAI's usage (Responses API, as Codex records it): cached input counted apart from input."""
    cached = as_int(raw.get("cached_input_tokens"))
    return TokenUsage(
        input_tokens=max(as_int(raw.get("input_tokens")) - cached, 0),
        output_tokens=as_int(raw.get("output_tokens")),
        cache_read_tokens=cached,
        cache_write_tokens=as_int(raw.get("cache_write_input_tokens")),
        reasoning_tokens=as_int(raw.get("reasoning_output_tokens")),
    )


def add_usage(a: TokenUsage | None, b: TokenUsage) -> TokenUsage:
    """The sum of two usages (a None first one counts as nothing)."""
    if a is None:
        return b
    return TokenUsage(
        a.input_tokens + b.input_tokens,
        a.output_tokens + b.output_tokens,
        a.cache_read_tokens + b.cache_read_tokens,
        a.cache_write_tokens + b.cache_write_tokens,
        a.reasoning_tokens + b.reasoning_tokens,
    )


def max_usage(a: TokenUsage | None, b: TokenUsage | None) -> TokenUsage | None:
    """Usage of one API message seen twice (split records): the larger figure of each field."""
    if a is None or b is None:
        return a or b
    return TokenUsage(
        input_tokens=max(a.input_tokens, b.input_tokens),
        output_tokens=max(a.output_tokens, b.output_tokens),
        cache_read_tokens=max(a.cache_read_tokens, b.cache_read_tokens),
        cache_write_tokens=max(a.cache_write_tokens, b.cache_write_tokens),
        reasoning_tokens=max(a.reasoning_tokens, b.reasoning_tokens),
    )


def usage_or_none(usage: TokenUsage) -> TokenUsage | None:
    """None for a usage of all zeros (the tool recorded none)."""
    return usage if usage.total or usage.reasoning_tokens else None


def main_model(messages: Iterable[ParsedMessage]) -> str | None:
    """The model that answered most often (ignoring placeholders such as "<synthetic>")."""
    counts = Counter(m.model for m in messages if m.model and not m.model.startswith("<"))
    return counts.most_common(1)[0][0] if counts else None
