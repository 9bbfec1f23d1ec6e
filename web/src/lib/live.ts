// Live updates from the server's `/ws` (library.*, job.*, session.*, workspace.* topics): reconnects after a drop,
// debounces bursts (a harvest sends many) into one call.
import { auth } from "./auth.svelte";

export interface LiveOptions {
  topics: string;
  chatId?: string;
  debounceMs?: number;
}

export function liveUrl(loc: { protocol: string; host: string }, token: string | null, options: LiveOptions): string {
  const params = new URLSearchParams({ topics: options.topics });
  if (options.chatId) params.set("chat_id", options.chatId);
  if (token) params.set("token", token);
  return `${loc.protocol === "https:" ? "wss:" : "ws:"}//${loc.host}/ws?${params}`;
}

export interface LiveEvent {
  topic: string;
  data: Record<string, unknown>;
}

export function subscribe(options: LiveOptions, onchange: () => void, onevent?: (event: LiveEvent) => void): () => void {
  let socket: WebSocket | null = null;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let retry: ReturnType<typeof setTimeout> | undefined;
  let closed = false;
  const connect = () => {
    socket = new WebSocket(liveUrl(location, auth.token, options));
    socket.onmessage = (message) => {
      try {
        const frame = JSON.parse(String(message.data));
        if (frame.type !== "event" && frame.type !== "gap") return;
        if (frame.type === "event") onevent?.({ topic: frame.topic, data: frame.data ?? {} });
      } catch {
        return;
      }
      clearTimeout(timer);
      timer = setTimeout(onchange, options.debounceMs ?? 800);
    };
    socket.onclose = () => {
      if (!closed) retry = setTimeout(connect, 3000);
    };
  };
  connect();
  return () => {
    closed = true;
    clearTimeout(timer);
    clearTimeout(retry);
    socket?.close();
  };
}
