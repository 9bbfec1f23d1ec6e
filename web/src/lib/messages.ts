// A chat's messages shaped for reading: each message's tool calls with their results, and role
// "tool" messages folded into the call they answer (or kept as a result of their own).
export interface ToolCallView {
  id: string | null;
  name: string;
  input: unknown;
  output: string | null;
  isError: boolean;
}

export interface RawMessage {
  id: string;
  role: string;
  content: string;
  thinking?: string | null;
  tool_calls?: Record<string, unknown>[];
  metadata?: Record<string, unknown> | null;
}

export interface MessageView<M extends RawMessage = RawMessage> {
  message: M;
  tools: ToolCallView[];
  /** Tool results that answered this message's calls (folded away from the list). */
  foldedIds: string[];
}

export function toolCallsOf(message: RawMessage): ToolCallView[] {
  return (message.tool_calls ?? []).map((call) => ({
    id: typeof call.id === "string" ? call.id : null,
    name: typeof call.name === "string" && call.name ? call.name : "tool",
    input: call.input ?? call.arguments ?? null,
    output: typeof call.output === "string" ? call.output : null,
    isError: call.is_error === true,
  }));
}

function toolCallIdOf(message: RawMessage): string | null {
  const meta = message.metadata ?? {};
  const id = meta["tool_call_id"] ?? meta["tool_use_id"];
  return typeof id === "string" ? id : null;
}

export function groupMessages<M extends RawMessage>(messages: M[]): MessageView<M>[] {
  const views: MessageView<M>[] = [];
  const byCall = new Map<string, ToolCallView>();
  let last: MessageView<M> | null = null;
  for (const message of messages) {
    if (message.role === "tool" && last) {
      const callId = toolCallIdOf(message);
      const call = callId ? byCall.get(callId) : last.tools.find((t) => t.output === null);
      if (call && call.output === null && !message.thinking) {
        call.output = message.content;
        last.foldedIds.push(message.id);
        continue;
      }
    }
    const view: MessageView<M> = { message, tools: toolCallsOf(message), foldedIds: [] };
    for (const tool of view.tools) if (tool.id) byCall.set(tool.id, tool);
    views.push(view);
    if (view.tools.length) last = view;
    else if (message.role !== "tool") last = null;
  }
  return views;
}
