// Work deferred until an element comes near the viewport (one shared IntersectionObserver): a long
// chat's messages show as plain text first and get their Markdown and highlighting when scrolled to.
const callbacks = new WeakMap<Element, () => void>();
let observer: IntersectionObserver | null = null;

function shared(): IntersectionObserver {
  observer ??= new IntersectionObserver(
    (entries) => {
      for (const entry of entries) {
        if (!entry.isIntersecting) continue;
        observer?.unobserve(entry.target);
        callbacks.get(entry.target)?.();
        callbacks.delete(entry.target);
      }
    },
    { rootMargin: "600px 0px" },
  );
  return observer;
}

/** Svelte action: call `onnear` once, when the node first comes within 600px of the viewport. */
export function near(node: Element, onnear: () => void): { destroy(): void } {
  if (typeof IntersectionObserver === "undefined") {
    onnear();
    return { destroy() {} };
  }
  callbacks.set(node, onnear);
  shared().observe(node);
  return {
    destroy() {
      callbacks.delete(node);
      observer?.unobserve(node);
    },
  };
}
