export function ptyUrl(loc: { protocol: string; host: string }, id: string, token: string | null, cols: number, rows: number): string {
  const scheme = loc.protocol === "https:" ? "wss:" : "ws:";
  const params = new URLSearchParams({ cols: String(cols), rows: String(rows) });
  if (token) params.set("token", token);
  return `${scheme}//${loc.host}/v1/sessions/${encodeURIComponent(id)}/pty?${params}`;
}

export function resizeFrame(cols: number, rows: number): string {
  return JSON.stringify({ type: "resize", cols, rows });
}

export interface FileEntry {
  name: string;
  kind: "file" | "dir" | "link" | "other";
  size: number;
}

/** The listing script's output: the folder's absolute path, then `type<TAB>size<TAB>name` lines. */
export function parseListing(output: string): { dir: string; entries: FileEntry[] } {
  const [dir = "", ...lines] = output.split("\n");
  const entries: FileEntry[] = [];
  for (const line of lines) {
    const [type, size, ...rest] = line.split("\t");
    const name = rest.join("\t");
    if (!name) continue;
    const kind = type === "d" ? "dir" : type === "f" ? "file" : type === "l" ? "link" : "other";
    entries.push({ name: name.replace(/^\.\//, ""), kind, size: Number(size) || 0 });
  }
  entries.sort((a, b) => (a.kind === "dir") !== (b.kind === "dir") ? (a.kind === "dir" ? -1 : 1) : a.name.localeCompare(b.name));
  return { dir: dir.trim(), entries };
}

export const LISTING_SCRIPT =
  "cd -- \"$CHASM_DIR\" && pwd && find . -mindepth 1 -maxdepth 1 -printf '%y\\t%s\\t%f\\n'";

export function joinPath(dir: string, name: string): string {
  return dir.endsWith("/") ? dir + name : `${dir}/${name}`;
}

export function parentOf(dir: string): string {
  const cut = dir.replace(/\/+$/, "").lastIndexOf("/");
  return cut <= 0 ? "/" : dir.slice(0, cut);
}
