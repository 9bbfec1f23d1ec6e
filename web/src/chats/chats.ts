import { chat, type Schema } from "../lib/api";

export type Chat = Schema<"ChatRead">;
export type ChatMatch = Schema<"ChatMatch">;
export type Message = Schema<"MessageRead">;

export interface ChatFilter {
  provider: string;
  workspace: string;
  archived: "" | "true" | "false";
  since: string; // yyyy-mm-dd, updated at or after
  model: string;
  tags: string; // comma separated: chats holding every one
}

export function tagList(tags: string): string[] {
  return [...new Set(tags.split(",").map((t) => t.trim()).filter(Boolean))];
}

/** Search has no model or tag filter on the server: its results are narrowed here (the list asks the
 * server, which also matches a model used by one of a chat's messages). */
export function matchesFilter(item: { model?: string | null; tags: string[] }, filter: ChatFilter): boolean {
  if (filter.model && item.model !== filter.model) return false;
  return tagList(filter.tags).every((t) => item.tags.includes(t));
}

export function updatedAfter(item: { updated_at?: string | null }, since: string): boolean {
  if (!since) return true;
  if (!item.updated_at) return false;
  return item.updated_at.slice(0, 10) >= since;
}

export async function listChats(filter: ChatFilter, offset: number, limit = 50) {
  return chat("get", "/api/sessions", {
    query: {
      provider: filter.provider || undefined,
      workspace_id: filter.workspace || undefined,
      archived: filter.archived || undefined,
      model: filter.model || undefined,
      tag: tagList(filter.tags),
      limit,
      offset,
    },
  });
}

export async function searchChats(q: string, filter: ChatFilter, signal: AbortSignal) {
  return chat("get", "/api/search/sessions", {
    query: {
      q,
      provider: filter.provider || undefined,
      workspace_id: filter.workspace || undefined,
      since: filter.since ? `${filter.since}T00:00:00Z` : undefined,
      limit: 30,
    },
    signal,
  });
}
