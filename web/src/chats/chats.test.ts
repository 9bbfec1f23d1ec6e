import { describe, expect, it } from "vitest";
import { matchesFilter, tagList, type ChatFilter } from "./chats";

const filter = (model: string, tags: string): ChatFilter => ({ provider: "", workspace: "", archived: "", since: "", model, tags });

describe("model and tag filters", () => {
  it("reads tags as a comma separated list, without blanks or repeats", () => {
    expect(tagList(" auth, web,,auth ")).toEqual(["auth", "web"]);
    expect(tagList("")).toEqual([]);
  });
  it("narrows search results to the model and every tag asked for", () => {
    const item = { model: "claude-opus-4", tags: ["auth", "web"] };
    expect(matchesFilter(item, filter("", ""))).toBe(true);
    expect(matchesFilter(item, filter("claude-opus-4", "web, auth"))).toBe(true);
    expect(matchesFilter(item, filter("gpt-5", ""))).toBe(false);
    expect(matchesFilter(item, filter("", "auth, db"))).toBe(false);
  });
});
