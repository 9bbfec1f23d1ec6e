"""Errors of semantic search."""

from __future__ import annotations

from chasm.kit.errors import ChasmError


class EmbeddingsUnavailable(ChasmError):
    """No embedding model: the local model's package is missing, or the endpoint failed."""

    status_code = 503
    code = "embeddings_unavailable"


class SemanticSearchOff(ChasmError):
    status_code = 503
    code = "semantic_search_disabled"
