import { describe, expect, it } from "vitest";
import { joinPath, parentOf, parseListing, ptyUrl, resizeFrame } from "./pty";

describe("PTY", () => {
  it("builds the WebSocket URL with the size and the token", () => {
    expect(ptyUrl({ protocol: "https:", host: "h:1" }, "abc", "sk_x", 80, 24)).toBe("wss://h:1/v1/sessions/abc/pty?cols=80&rows=24&token=sk_x");
    expect(ptyUrl({ protocol: "http:", host: "h" }, "abc", null, 1, 2)).toBe("ws://h/v1/sessions/abc/pty?cols=1&rows=2");
  });

  it("sends resizes as the server's JSON frame", () => {
    expect(JSON.parse(resizeFrame(100, 30))).toEqual({ type: "resize", cols: 100, rows: 30 });
  });
});

describe("file listing", () => {
  it("parses the listing script's output, folders first", () => {
    const out = "/workspace/src\nf\t12\tb.txt\nd\t4096\tlib\nf\t3\ta file\twith tab\nl\t7\tlink\n";
    const listing = parseListing(out);
    expect(listing.dir).toBe("/workspace/src");
    expect(listing.entries.map((e) => [e.kind, e.name])).toEqual([
      ["dir", "lib"],
      ["file", "a file\twith tab"],
      ["file", "b.txt"],
      ["link", "link"],
    ]);
  });

  it("joins and climbs paths", () => {
    expect(joinPath("/workspace", "x")).toBe("/workspace/x");
    expect(joinPath("/", "x")).toBe("/x");
    expect(parentOf("/workspace/a/")).toBe("/workspace");
    expect(parentOf("/workspace")).toBe("/");
  });
});
