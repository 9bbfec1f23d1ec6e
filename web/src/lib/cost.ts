// Cost of a message's tokens, with the prices the server's own estimates use (chasm.chats.pricing,
// dumped at build time): the longest known model-id prefix, routing prefixes removed. Unknown: null.
import prices from "./api/generated/prices.json";

type Rates = [number, number, number, number];
const PRICES = prices as unknown as Record<string, Rates>;
const ROUTING = /^(?:[\w.-]+\/)+|^(?:[a-z]{2}\.)?anthropic\./;

export function priceFor(model: string | null | undefined, table: Record<string, Rates> = PRICES): Rates | null {
  if (!model) return null;
  const name = model.trim().toLowerCase().replace(ROUTING, "");
  let best: string | null = null;
  for (const prefix of Object.keys(table)) {
    if (name.startsWith(prefix) && (best === null || prefix.length > best.length)) best = prefix;
  }
  return best === null ? null : table[best];
}

export interface TokenUsage {
  input_tokens: number;
  output_tokens: number;
  cache_read_tokens: number;
  cache_write_tokens: number;
}

export function costOf(model: string | null | undefined, usage: TokenUsage, table?: Record<string, Rates>): number | null {
  const rates = priceFor(model, table);
  if (!rates) return null;
  const [input, output, read, write] = rates;
  return (
    (usage.input_tokens * input +
      usage.output_tokens * output +
      usage.cache_read_tokens * read +
      usage.cache_write_tokens * write) /
    1_000_000
  );
}
