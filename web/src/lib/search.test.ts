import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { createSearcher } from "./search";

describe("search as you type", () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it("waits for typing to pause, then sends one request for the last text", async () => {
    const run = vi.fn(async (q: string) => `results for ${q}`);
    const shown: [string, string | null][] = [];
    const searcher = createSearcher(run, (q, r) => shown.push([q, r]), { delayMs: 200 });

    for (const text of ["c", "cu", "cud", "cuda"]) {
      searcher.input(text);
      await vi.advanceTimersByTimeAsync(50);
    }
    await vi.advanceTimersByTimeAsync(200);

    expect(run).toHaveBeenCalledTimes(1);
    expect(run.mock.calls[0][0]).toBe("cuda");
    expect(shown).toEqual([["cuda", "results for cuda"]]);
  });

  it("aborts the request in flight when the text changes, and never shows its answer", async () => {
    const signals: AbortSignal[] = [];
    const resolvers: ((v: string) => void)[] = [];
    const run = (q: string, signal: AbortSignal) => {
      signals.push(signal);
      return new Promise<string>((resolve) => resolvers.push(() => resolve(q)));
    };
    const shown: string[] = [];
    const searcher = createSearcher(run, (q) => shown.push(q), { delayMs: 100 });

    searcher.input("first");
    await vi.advanceTimersByTimeAsync(100);
    searcher.input("second");
    expect(signals[0].aborted).toBe(true);
    await vi.advanceTimersByTimeAsync(100);
    resolvers[0]("first");
    resolvers[1]("second");
    await vi.runAllTimersAsync();

    expect(signals[1].aborted).toBe(false);
    expect(shown).toEqual(["second"]);
  });

  it("clears at once on empty text", async () => {
    const run = vi.fn(async () => "x");
    const shown: [string, string | null][] = [];
    const searcher = createSearcher(run, (q, r) => shown.push([q, r]));
    searcher.input("  ");
    expect(shown).toEqual([["", null]]);
    expect(run).not.toHaveBeenCalled();
  });
});
