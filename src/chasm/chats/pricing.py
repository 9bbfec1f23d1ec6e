"""Estimated model prices, in USD per million tokens, matched by the longest model-id prefix.

List prices of the providers' public pricing pages (standard tier, prompts up to 200k tokens where
the price depends on length). Providers without a separate cache-write price bill cache writes as
input. An unknown model has no price: its cost is reported as null, never guessed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from chasm.kit import caches


@dataclass(frozen=True)
class Price:
    input: float
    output: float
    cache_read: float
    cache_write: float

    def cost(self, input_tokens: int, output_tokens: int, cache_read: int, cache_write: int) -> float:
        return (
            input_tokens * self.input
            + output_tokens * self.output
            + cache_read * self.cache_read
            + cache_write * self.cache_write
        ) / 1_000_000


def _p(inp: float, out: float, cache_read: float, cache_write: float | None = None) -> Price:
    return Price(inp, out, cache_read, inp if cache_write is None else cache_write)


PRICES: dict[str, Price] = {
    # Anthropic (cache write: 5-minute TTL price)
    "claude-opus-4-5": _p(5, 25, 0.50, 6.25),
    "claude-opus-4-1": _p(15, 75, 1.50, 18.75),
    "claude-opus-4": _p(15, 75, 1.50, 18.75),
    "claude-sonnet-4-5": _p(3, 15, 0.30, 3.75),
    "claude-sonnet-4": _p(3, 15, 0.30, 3.75),
    "claude-haiku-4-5": _p(1, 5, 0.10, 1.25),
    "claude-3-7-sonnet": _p(3, 15, 0.30, 3.75),
    "claude-3-5-sonnet": _p(3, 15, 0.30, 3.75),
    "claude-3-5-haiku": _p(0.80, 4, 0.08, 1.00),
    "claude-3-opus": _p(15, 75, 1.50, 18.75),
    "claude-3-haiku": _p(0.25, 1.25, 0.03, 0.30),
    # Cursor and Copilot spell Claude models family-last
    "claude-4.5-opus": _p(5, 25, 0.50, 6.25),
    "claude-4.5-sonnet": _p(3, 15, 0.30, 3.75),
    "claude-4.5-haiku": _p(1, 5, 0.10, 1.25),
    "claude-4-opus": _p(15, 75, 1.50, 18.75),
    "claude-4-sonnet": _p(3, 15, 0.30, 3.75),
    "claude-sonnet-4.5": _p(3, 15, 0.30, 3.75),
    "claude-opus-4.5": _p(5, 25, 0.50, 6.25),
    "claude-haiku-4.5": _p(1, 5, 0.10, 1.25),
    "claude-opus-4.1": _p(15, 75, 1.50, 18.75),
    # OpenAI (GPT-5 family, Codex, reasoning and 4.x models; cached input as cache read)
    "gpt-5.1-codex-mini": _p(0.25, 2.00, 0.025),
    "gpt-5.1-codex": _p(1.25, 10.00, 0.125),
    "gpt-5.1": _p(1.25, 10.00, 0.125),
    "gpt-5-codex": _p(1.25, 10.00, 0.125),
    "gpt-5-pro": _p(15.00, 120.00, 15.00),
    "gpt-5-mini": _p(0.25, 2.00, 0.025),
    "gpt-5-nano": _p(0.05, 0.40, 0.005),
    "gpt-5": _p(1.25, 10.00, 0.125),
    "codex-mini": _p(1.50, 6.00, 0.375),
    "gpt-4.1-mini": _p(0.40, 1.60, 0.10),
    "gpt-4.1-nano": _p(0.10, 0.40, 0.025),
    "gpt-4.1": _p(2.00, 8.00, 0.50),
    "gpt-4o-mini": _p(0.15, 0.60, 0.075),
    "gpt-4o": _p(2.50, 10.00, 1.25),
    "o4-mini": _p(1.10, 4.40, 0.275),
    "o3-mini": _p(1.10, 4.40, 0.55),
    "o3-pro": _p(20.00, 80.00, 20.00),
    "o3": _p(2.00, 8.00, 0.50),
    "o1-mini": _p(1.10, 4.40, 0.55),
    "o1": _p(15.00, 60.00, 7.50),
    # Google
    "gemini-3-pro": _p(2.00, 12.00, 0.20),
    "gemini-2.5-pro": _p(1.25, 10.00, 0.125),
    "gemini-2.5-flash-lite": _p(0.10, 0.40, 0.01),
    "gemini-2.5-flash": _p(0.30, 2.50, 0.03),
    "gemini-2.0-flash-lite": _p(0.075, 0.30, 0.075),
    "gemini-2.0-flash": _p(0.10, 0.40, 0.025),
}

# Routing prefixes in front of a model id: "anthropic/", "models/", Bedrock's "us.anthropic.",
# Vertex's "@date" suffix is harmless for prefix matching.
_ROUTING = re.compile(r"^(?:[\w.-]+/)+|^(?:[a-z]{2}\.)?anthropic\.")


def normalise(model: str) -> str:
    return _ROUTING.sub("", model.strip().lower())


@lru_cache(maxsize=4096)
def price_for(model: str | None) -> Price | None:
    """The price of the longest known prefix of `model`, or None for an unknown model."""
    if not model:
        return None
    name = normalise(model)
    best = max((prefix for prefix in PRICES if name.startswith(prefix)), key=len, default=None)
    return PRICES[best] if best else None


def estimate_cost(
    model: str | None, input_tokens: int, output_tokens: int, cache_read: int, cache_write: int
) -> float | None:
    price = price_for(model)
    if price is None:
        return None
    return round(price.cost(input_tokens, output_tokens, cache_read, cache_write), 6)


caches.register_lru("chats.pricing", price_for)
