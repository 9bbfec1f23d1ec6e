"""Authlib's httpx OAuth 2 client, imported once with its httpx-fallback deprecation notice silenced.

Authlib prefers the `httpx2` package and warns when it falls back to `httpx`, which Chasm uses
everywhere else; the fallback is its supported path, so the notice is not an error here.
"""

from __future__ import annotations

import warnings

import authlib.deprecate  # noqa: F401  (installs its own filter, which must come before ours)

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    from authlib.common.errors import AuthlibBaseError
    from authlib.integrations.httpx_client import AsyncOAuth2Client

__all__ = ["AsyncOAuth2Client", "AuthlibBaseError"]
