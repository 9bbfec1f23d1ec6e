"""Semantic search: embedding throughput of the bundled model, and query latency at 100k chunks.

    uv run python -m bench.semantic [--chunks 100000] [--embed 128] [--queries 200]

Embedding: --embed chunks of about 600 characters through the local all-MiniLM-L6-v2 (numpy), in
chunks per second; the yardstick is the tokenizer alone on the same texts. Query: a usearch HNSW
index of --chunks synthetic unit vectors (384 dimensions, as the model's), p50/p95 of a top-50
search, against the exact search (one numpy matrix product over all vectors) in the same run, with
the recall of the approximate index. Plus the p50 of embedding one short query. Figures only.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time

import numpy as np

from chasm.semantic.index import new_index
from chasm.semantic.minilm import DIMENSIONS, MiniLM

SENTENCES = (
    "the server failed to start because the port was already taken so we moved it and retried",
    "database migration added an index on the messages table and the query became fast again",
    "a flaky test depended on the order of a dictionary which python keeps since version three",
)
WORDS = [word for sentence in SENTENCES for word in sentence.split(" ")]


def _texts(n: int, rng: random.Random) -> list[str]:
    return [" ".join(rng.choices(WORDS, k=100)) for _ in range(n)]


def _ms(values: list[float]) -> str:
    values = sorted(values)
    return (
        f"p50 {statistics.median(values) * 1000:.2f} ms, p95 {values[int(len(values) * 0.95)] * 1000:.2f} ms"
    )


def bench_embedding(n: int, rng: random.Random) -> None:
    model = MiniLM()
    texts = _texts(n, rng)
    model.embed(texts[:4])  # warm
    started = time.perf_counter()
    model.tokenizer.encode_batch(texts)
    tokenize = time.perf_counter() - started
    started = time.perf_counter()
    for i in range(0, n, 32):
        model.embed(texts[i : i + 32])
    embed = time.perf_counter() - started
    print(f"embedding: {n / embed:.1f} chunks/s ({n} chunks of ~600 chars, batches of 32)")
    print(
        f"  yardstick, tokenizer alone: {n / tokenize:.0f} chunks/s; model share {1 - tokenize / embed:.1%}"
    )
    queries = []
    for q in ("why did the server not start", "fast query after adding an index", "flaky test order"):
        for _ in range(5):
            started = time.perf_counter()
            model.embed([q])
            queries.append(time.perf_counter() - started)
    print(f"  embedding one query: {_ms(queries)}")


def bench_index(n: int, queries: int, rng: np.random.Generator) -> None:
    vectors = rng.standard_normal((n, DIMENSIONS)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    keys = np.arange(1, n + 1, dtype=np.uint64)
    index = new_index(DIMENSIONS)
    started = time.perf_counter()
    index.add(keys, vectors)
    print(f"index: built {n} vectors in {time.perf_counter() - started:.1f} s")
    # queries near stored vectors, as real queries are near some passage
    picks = rng.integers(0, n, queries)
    probes = vectors[picks] + 0.05 * rng.standard_normal((queries, DIMENSIONS)).astype(np.float32)
    probes /= np.linalg.norm(probes, axis=1, keepdims=True)
    approx, exact, hits, firsts = [], [], 0, 0
    for probe in probes:
        started = time.perf_counter()
        found = index.search(probe, 50)
        approx.append(time.perf_counter() - started)
        started = time.perf_counter()
        scores = vectors @ probe
        best = np.argpartition(-scores, 10)[:10]
        exact.append(time.perf_counter() - started)
        got = np.asarray(found.keys)
        hits += len(set((best + 1).tolist()) & set(got[:10].tolist()))
        firsts += int(got[0]) == int(np.argmax(scores)) + 1
    print(f"query, usearch HNSW top-50: {_ms(approx)}")
    print(f"  yardstick, exact numpy search: {_ms(exact)}")
    ratio = statistics.median(exact) / statistics.median(approx)
    print(f"  speed-up {ratio:.1f}x; recall@1 {firsts / queries:.3f}, recall@10 {hits / (10 * queries):.3f}")
    print("  (random vectors are near-equidistant: ranks 2-10 are a hard case, real embeddings are not)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--chunks", type=int, default=100_000)
    parser.add_argument("--embed", type=int, default=128)
    parser.add_argument("--queries", type=int, default=200)
    args = parser.parse_args()
    bench_embedding(args.embed, random.Random(7))
    bench_index(args.chunks, args.queries, np.random.default_rng(7))


if __name__ == "__main__":
    main()
