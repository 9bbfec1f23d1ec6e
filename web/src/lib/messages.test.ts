import { describe, expect, it } from "vitest";
import { groupMessages, toolCallsOf } from "./messages";
import { prettyJson, renderMarkdown } from "./markdown";

const msg = (id: string, role: string, content = "", extra: object = {}) => ({ id, role, content, ...extra });

describe("groupMessages", () => {
  it("keeps tool calls on their message with their recorded output", () => {
    const views = groupMessages([
      msg("1", "user", "list files"),
      msg("2", "assistant", "", { tool_calls: [{ id: "t1", name: "Bash", input: { command: "ls" }, output: "a.txt", is_error: false }] }),
    ]);
    expect(views).toHaveLength(2);
    expect(views[1].tools).toEqual([{ id: "t1", name: "Bash", input: { command: "ls" }, output: "a.txt", isError: false }]);
  });

  it("folds a tool message into the call it answers", () => {
    const views = groupMessages([
      msg("1", "assistant", "", { tool_calls: [{ id: "t1", name: "Read" }, { id: "t2", name: "Grep" }] }),
      msg("2", "tool", "grep result", { metadata: { tool_call_id: "t2" } }),
      msg("3", "tool", "read result"),
      msg("4", "assistant", "done"),
    ]);
    expect(views.map((v) => v.message.id)).toEqual(["1", "4"]);
    expect(views[0].tools.map((t) => t.output)).toEqual(["read result", "grep result"]);
    expect(views[0].foldedIds).toEqual(["2", "3"]);
  });

  it("keeps a tool message with nothing to answer as its own message", () => {
    const views = groupMessages([msg("1", "user", "hi"), msg("2", "tool", "orphan")]);
    expect(views.map((v) => v.message.id)).toEqual(["1", "2"]);
  });

  it("names a call without a name", () => {
    expect(toolCallsOf(msg("1", "assistant", "", { tool_calls: [{ arguments: "{}" }] }))[0]).toMatchObject({ name: "tool", input: "{}" });
  });
});

describe("markdown", () => {
  it("renders code blocks highlighted and escapes unknown languages", () => {
    const html = renderMarkdown("# Title\n\n```python\nprint('x')\n```\n\n```nope\n<b>\n```");
    expect(html).toContain("<h1>Title</h1>");
    expect(html).toContain('class="hljs-built_in"');
    expect(html).toContain("&lt;b&gt;");
  });

  it("pretty-prints JSON arguments, strings or objects", () => {
    expect(prettyJson('{"a":1}')).toBe('{\n  "a": 1\n}');
    expect(prettyJson({ a: 1 })).toBe('{\n  "a": 1\n}');
    expect(prettyJson("not json")).toBe("not json");
  });
});
