// A small history router: the server answers every client path with the app (chasm.webui.spa).
class Router {
  path = $state(typeof location === "undefined" ? "/" : location.pathname);
  search = $state(typeof location === "undefined" ? "" : location.search);

  constructor() {
    if (typeof window !== "undefined") {
      window.addEventListener("popstate", () => this.sync());
    }
  }

  private sync(): void {
    this.path = location.pathname;
    this.search = location.search;
  }

  go(to: string, replace = false): void {
    if (replace) history.replaceState(null, "", to);
    else history.pushState(null, "", to);
    this.sync();
    window.scrollTo(0, 0);
  }
}

export const router = new Router();

/** Follow same-app links without reloading the page. */
export function link(node: HTMLAnchorElement): void {
  node.addEventListener("click", (event) => {
    if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey) return;
    const href = node.getAttribute("href");
    if (!href || !href.startsWith("/") || node.target) return;
    event.preventDefault();
    router.go(href);
  });
}

/** `/chats/:id` against `/chats/abc` gives `{id: "abc"}`, else null. */
export function match(pattern: string, path: string): Record<string, string> | null {
  const want = pattern.split("/").filter(Boolean);
  const got = path.split("/").filter(Boolean);
  if (want.length !== got.length) return null;
  const params: Record<string, string> = {};
  for (let i = 0; i < want.length; i++) {
    if (want[i].startsWith(":")) params[want[i].slice(1)] = decodeURIComponent(got[i]);
    else if (want[i] !== got[i]) return null;
  }
  return params;
}
