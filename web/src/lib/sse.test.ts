import { describe, expect, it } from "vitest";
import { SseParser } from "./sse";

describe("SseParser", () => {
  it("parses events split anywhere across chunks", () => {
    const parser = new SseParser();
    const text = 'retry: 1000\n\nid: 6\nevent: stdout\ndata: {"data": "hello"}\n\nid: 6\nevent: exit\ndata: {"exit_code": 0}\n\n';
    const events = [];
    for (let i = 0; i < text.length; i += 7) events.push(...parser.feed(text.slice(i, i + 7)));
    expect(events).toEqual([
      { event: "stdout", data: '{"data": "hello"}', id: "6" },
      { event: "exit", data: '{"exit_code": 0}', id: "6" },
    ]);
  });

  it("joins multi-line data, ignores comments and defaults the event name", () => {
    const parser = new SseParser();
    expect(parser.feed(": ping\r\ndata: a\r\ndata: b\r\n\r\n")).toEqual([{ event: "message", data: "a\nb", id: null }]);
  });
});
