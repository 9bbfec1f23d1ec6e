import { describe, expect, it } from "vitest";
import { buildUrl, listOf } from "./api";
import { costOf } from "./cost";

describe("/v1 lists", () => {
  it("reads a bare array and the {items, total, limit, offset} envelope alike", () => {
    expect(listOf([1, 2])).toEqual({ items: [1, 2], total: null });
    expect(listOf({ items: [1], total: 9, limit: 1, offset: 0 })).toEqual({ items: [1], total: 9 });
    expect(listOf(null)).toEqual({ items: [], total: null });
  });
});

describe("buildUrl", () => {
  it("fills path parameters and drops empty query values", () => {
    expect(buildUrl("/v1/sessions/{session_id}/download", { session_id: "a b" }, { path: "/x y", q: "", n: undefined })).toBe(
      "/v1/sessions/a%20b/download?path=%2Fx+y",
    );
  });
  it("repeats a parameter given a list", () => {
    expect(buildUrl("/api/sessions", {}, { tag: ["a", "b c"], model: "m" })).toBe("/api/sessions?tag=a&tag=b+c&model=m");
    expect(buildUrl("/api/sessions", {}, { tag: [] })).toBe("/api/sessions");
  });
});

describe("costOf", () => {
  const table = { "claude-opus-4": [15, 75, 1.5, 18.75] as [number, number, number, number], "claude-opus-4-5": [5, 25, 0.5, 6.25] as [number, number, number, number] };
  const usage = { input_tokens: 1_000_000, output_tokens: 0, cache_read_tokens: 0, cache_write_tokens: 0 };

  it("uses the longest known prefix, routing prefixes removed", () => {
    expect(costOf("anthropic/claude-opus-4-5-20251101", usage, table)).toBe(5);
    expect(costOf("claude-opus-4-20250514", usage, table)).toBe(15);
  });

  it("has no price for an unknown model", () => {
    expect(costOf("mystery", usage, table)).toBeNull();
    expect(costOf(null, usage, table)).toBeNull();
  });
});

describe("liveUrl", () => {
  it("asks /ws for the topics, the chat and the token", async () => {
    const { liveUrl } = await import("./live");
    expect(liveUrl({ protocol: "http:", host: "h:1" }, "tok", { topics: "library.*", chatId: "c1" })).toBe(
      "ws://h:1/ws?topics=library.*&chat_id=c1&token=tok",
    );
  });
});
