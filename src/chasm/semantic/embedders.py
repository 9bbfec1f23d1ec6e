"""Where embeddings come from: the bundled local model (numpy) or an OpenAI-compatible endpoint.
Both give unit-length float32 rows; `name` tells chunks of different models apart."""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol

import numpy as np

from chasm.config import Settings
from chasm.semantic.exceptions import EmbeddingsUnavailable, SemanticSearchOff
from chasm.semantic.minilm import MiniLM, ModelUnavailable

BATCH = 32  # texts per forward pass / per request
BACKGROUND_NICE = 19  # the background indexer's thread: the lowest CPU priority (Linux: per thread)


class Embedder(Protocol):
    name: str

    async def embed(self, texts: list[str], background: bool = False) -> np.ndarray[Any, Any]:
        """Unit-length rows, one per text. `background`: indexing, which gives way to the server's
        requests (a query's embedding does not)."""
        ...


def _unit(rows: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    return (rows / np.maximum(norms, 1e-12)).astype(np.float32)


def _lower_priority() -> None:
    """Run by the background embedding thread once: on Linux a nice value is per thread, so this
    one yields the CPU to the server's requests (recording bursts, queries) whenever they want it,
    and uses it when they do not. Not SCHED_IDLE: a thread that is never scheduled while it holds
    the GIL would stall the event loop behind it; nice 19 still gets a slice within milliseconds."""
    tid = threading.get_native_id()
    with contextlib.suppress(AttributeError, OSError):  # no per-thread priority here: as it is
        os.setpriority(os.PRIO_PROCESS, tid, BACKGROUND_NICE)
    # Its name in top -H and /proc (bench/recording.py reads it).
    with contextlib.suppress(OSError), open(f"/proc/self/task/{tid}/comm", "w") as comm:
        comm.write("chasm-embedder")


class LocalEmbedder:
    """all-MiniLM-L6-v2, loaded on first use, run in a worker thread (one forward pass at a time).
    Background indexing runs in a thread of its own at the lowest CPU priority (`_lower_priority`);
    queries in the default pool, at the server's."""

    name = MiniLM.name

    def __init__(self) -> None:
        self._model: MiniLM | None = None
        self._lock = threading.Lock()
        self._background: ThreadPoolExecutor | None = None

    def _load(self) -> MiniLM:
        with self._lock:
            if self._model is None:
                try:
                    self._model = MiniLM()
                except ModelUnavailable as exc:
                    raise EmbeddingsUnavailable(str(exc)) from exc
            return self._model

    def _embed(self, texts: list[str]) -> np.ndarray[Any, Any]:
        model = self._load()
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))  # batches of like length pad less
        rows = np.zeros((len(texts), model.dimensions), np.float32)
        for start in range(0, len(order), BATCH):
            batch = order[start : start + BATCH]
            with self._lock:  # per pass: a query waits for one pass at most, not a whole batch
                rows[batch] = model.embed([texts[i] for i in batch])
        return rows

    async def embed(self, texts: list[str], background: bool = False) -> np.ndarray[Any, Any]:
        if not background:
            return await asyncio.to_thread(self._embed, texts)
        if self._background is None:
            self._background = ThreadPoolExecutor(
                1, thread_name_prefix="chasm-embedder", initializer=_lower_priority
            )
        return await asyncio.get_running_loop().run_in_executor(self._background, self._embed, texts)

    def close(self) -> None:
        if self._background is not None:
            self._background.shutdown(wait=False, cancel_futures=True)
            self._background = None


class OpenAIEmbedder:
    """An OpenAI-compatible `/v1/embeddings` endpoint, through the openai SDK."""

    def __init__(self, base_url: str, model: str, api_key: str | None, dimensions: int | None) -> None:
        from openai import AsyncOpenAI

        self.name = f"openai:{model}" + (f":{dimensions}" if dimensions else "")
        self.model = model
        self.dimensions = dimensions
        self.client = AsyncOpenAI(base_url=base_url, api_key=api_key or "unused", max_retries=1, timeout=60)

    async def embed(self, texts: list[str], background: bool = False) -> np.ndarray[Any, Any]:
        import openai

        rows: list[list[float]] = []
        for i in range(0, len(texts), BATCH):
            extra: dict[str, Any] = {"dimensions": self.dimensions} if self.dimensions else {}
            try:
                reply = await self.client.embeddings.create(
                    model=self.model, input=texts[i : i + BATCH], encoding_format="float", **extra
                )
            except openai.OpenAIError as exc:
                raise EmbeddingsUnavailable(f"the embeddings endpoint failed: {exc}") from exc
            rows.extend(item.embedding for item in sorted(reply.data, key=lambda d: d.index))
        if len(rows) != len(texts):
            raise EmbeddingsUnavailable("the embeddings endpoint returned a wrong number of vectors")
        return _unit(np.asarray(rows, dtype=np.float32).reshape(len(texts), -1))


def from_settings(settings: Settings) -> Embedder:
    kind = settings.semantic_embedder
    if kind == "local":
        return LocalEmbedder()
    if kind == "openai":
        if not settings.semantic_base_url:
            raise EmbeddingsUnavailable("semantic_embedder is openai but semantic_base_url is not set")
        return OpenAIEmbedder(
            settings.semantic_base_url,
            settings.semantic_model,
            settings.semantic_api_key,
            settings.semantic_dimensions,
        )
    if kind == "off":
        raise SemanticSearchOff("semantic search is turned off on this server (semantic_embedder)")
    raise EmbeddingsUnavailable(f"unknown semantic_embedder {kind!r} (local, openai or off)")
