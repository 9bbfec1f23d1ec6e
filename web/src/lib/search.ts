// Search as you type: each keystroke restarts a short wait; a request that starts aborts the one
// before it, so only the latest query's answer is ever shown.
export interface Searcher<T> {
  /** The text changed: search it after the wait (empty text: clear at once). */
  input(text: string): void;
  cancel(): void;
}

export function createSearcher<T>(
  run: (text: string, signal: AbortSignal) => Promise<T>,
  show: (text: string, result: T | null) => void,
  options: { delayMs?: number; onError?: (error: unknown) => void } = {},
): Searcher<T> {
  const delay = options.delayMs ?? 200;
  let timer: ReturnType<typeof setTimeout> | null = null;
  let inflight: AbortController | null = null;

  const cancel = () => {
    if (timer !== null) clearTimeout(timer);
    timer = null;
    inflight?.abort();
    inflight = null;
  };

  return {
    input(text: string) {
      cancel();
      const query = text.trim();
      if (!query) {
        show("", null);
        return;
      }
      timer = setTimeout(async () => {
        timer = null;
        const controller = new AbortController();
        inflight = controller;
        try {
          const result = await run(query, controller.signal);
          if (!controller.signal.aborted) show(query, result);
        } catch (error) {
          if (!controller.signal.aborted) options.onError?.(error);
        } finally {
          if (inflight === controller) inflight = null;
        }
      }, delay);
    },
    cancel,
  };
}
