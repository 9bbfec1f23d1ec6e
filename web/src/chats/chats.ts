import { chat, type Schema } from "../lib/api";

export type Chat = Schema<"ChatRead">;
export type ChatMatch = Schema<"ChatMatch">;
export type Message = Schema<"MessageRead">;

export interface ChatFilter {
  provider: string;
  workspace: string;
  archived: "" | "true" | "false";
  since: string; // yyyy-mm-dd, updated at or after
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
