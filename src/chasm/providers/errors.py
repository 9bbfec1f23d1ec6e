"""The one place where the SDKs' exceptions become Chasm's (both SDKs share one exception shape:
APIConnectionError, APITimeoutError, APIStatusError with `status_code` and the parsed `body`)."""

from __future__ import annotations

import json
from typing import Any

import anthropic
import httpx2
import openai

from chasm.providers.exceptions import (
    ContextTooLong,
    ProviderAuthFailed,
    ProviderBadRequest,
    ProviderError,
    ProviderRateLimited,
    ProviderUnavailable,
    UnknownModel,
)

# What providers say when the prompt does not fit (OpenAI's code, Anthropic's and the
# OpenAI-compatible servers' words).
_CONTEXT_WORDS = (
    "context_length_exceeded",
    "context length",
    "context window",
    "maximum context",
    "prompt is too long",
    "too many tokens",
    "input is too long",
)
# ValueError: a body that is not JSON where the SDK expected JSON (a provider answering garbage).
SDK_ERRORS: tuple[type[Exception], ...] = (openai.OpenAIError, anthropic.AnthropicError, ValueError)
# While a stream's body is read (past the SDK's request handling): the connection's own errors too.
STREAM_ERRORS: tuple[type[Exception], ...] = (*SDK_ERRORS, httpx2.HTTPError)


def _detail(body: Any, fallback: str) -> str:
    """The provider's own message out of its error body (OpenAI: the `error` object; Anthropic:
    `{"type": "error", "error": {...}}`)."""
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and isinstance(inner.get("message"), str):
            return str(inner["message"])
        if isinstance(body.get("message"), str):
            return str(body["message"])
        return json.dumps(body)[:500]
    if isinstance(body, str) and body:
        return body[:500]
    return fallback


def _code(body: Any) -> str:
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict):
            return " ".join(str(inner.get(k) or "") for k in ("code", "type"))
    return ""


def translate(exc: Exception, provider: str, secret: str | None = None) -> ProviderError | UnknownModel:
    """The Chasm error for an SDK's exception; the API key never appears in its message."""

    def said(text: str) -> str:
        text = f"Provider '{provider}': {text}"
        return text.replace(secret, "[redacted]") if secret else text

    if isinstance(exc, openai.APITimeoutError | anthropic.APITimeoutError):
        return ProviderUnavailable(said("the request timed out"))
    if isinstance(exc, openai.APIConnectionError | anthropic.APIConnectionError):
        return ProviderUnavailable(said(f"cannot connect ({exc.__cause__ or exc})"))
    if isinstance(exc, openai.APIStatusError | anthropic.APIStatusError):
        status = exc.status_code
        body = exc.body
        detail = _detail(body, exc.message)
        if status in (401, 403):
            return ProviderAuthFailed(said(f"credentials refused ({status}): {detail}"))
        if status == 429:
            retry = exc.response.headers.get("retry-after")
            headers = {"Retry-After": retry} if retry else None
            return ProviderRateLimited(said(f"rate limited: {detail}"), headers=headers)
        if status == 404:
            return UnknownModel(said(f"not found: {detail}"))
        if status in (400, 413, 422):
            text = f"{_code(body)} {detail}".lower()
            if any(word in text for word in _CONTEXT_WORDS) or status == 413:
                return ContextTooLong(said(f"the prompt is over the model's context window: {detail}"))
            return ProviderBadRequest(said(f"request refused: {detail}"))
        if status in (503, 529):
            return ProviderUnavailable(said(f"overloaded ({status}): {detail}"), status_code=503)
        if status >= 500:
            return ProviderUnavailable(said(f"server error ({status}): {detail}"))
        return ProviderError(said(f"answered {status}: {detail}"))
    if isinstance(exc, httpx2.TransportError):
        return ProviderUnavailable(said(f"the connection failed while streaming ({type(exc).__name__})"))
    if isinstance(exc, openai.APIResponseValidationError | anthropic.APIResponseValidationError | ValueError):
        return ProviderError(said("answered something that is not a valid response"))
    return ProviderError(said(f"failed: {exc}"))


def garbage(provider: str, what: str) -> ProviderError:
    return ProviderError(f"Provider '{provider}': answered something that is not a valid response ({what})")


def stream_error(provider: str, body: Any) -> ProviderError:
    """An error event inside a stream (the status was 200 when the stream began)."""
    return ProviderError(f"Provider '{provider}': the stream failed: {_detail(body, 'an error event')}")
