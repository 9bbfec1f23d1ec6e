// Who the dashboard calls the API as. A loopback-bound server signs this machine's browser in as the
// local owner (POST /auth/local-token); otherwise a password login (JWT + refresh token) or an API
// key pasted once, or an OAuth sign-in (Google, GitHub) that ends back here with a refresh token in
// the URL fragment, traded at once for a fresh pair. Kept in localStorage.
const TOKEN = "chasm.token";
const REFRESH = "chasm.refresh";
const KIND = "chasm.auth";

export type AuthKind = "local" | "password" | "oauth" | "key" | null;
const AFTER_SIGNIN = "chasm.after-signin";

/** What an OAuth flow begun here left in the fragment of the page it ended on (`/#oauth_...`). */
export function oauthResult(hash: string): { refreshToken: string } | { error: string } | null {
  const params = new URLSearchParams(hash.replace(/^#/, ""));
  const token = params.get("oauth_refresh_token");
  if (token) return { refreshToken: token };
  const error = params.get("oauth_error");
  return error ? { error } : null;
}

/** Before leaving for a provider's sign-in: the page to reopen once it is done. */
export function rememberPlace(here: string): void {
  try {
    sessionStorage.setItem(AFTER_SIGNIN, here);
  } catch {
    /* private mode: the library opens */
  }
}

function takePlace(): string {
  try {
    const back = sessionStorage.getItem(AFTER_SIGNIN);
    sessionStorage.removeItem(AFTER_SIGNIN);
    return back && back.startsWith("/") && !back.startsWith("//") ? back : "/chats";
  } catch {
    return "/chats";
  }
}

function stored(key: string): string | null {
  try {
    return localStorage.getItem(key);
  } catch {
    return null;
  }
}

function store(key: string, value: string | null): void {
  try {
    if (value === null) localStorage.removeItem(key);
    else localStorage.setItem(key, value);
  } catch {
    /* private mode */
  }
}

class Auth {
  token = $state<string | null>(stored(TOKEN));
  kind = $state<AuthKind>(stored(KIND) as AuthKind);
  ready = $state(false);
  error = $state<string | null>(null);
  private renewing: Promise<boolean> | null = null;

  private set(kind: AuthKind, token: string | null, refresh: string | null = null): void {
    this.kind = kind;
    this.token = token;
    store(KIND, kind);
    store(TOKEN, token);
    store(REFRESH, refresh);
  }

  /** On start: finish an OAuth sign-in, keep a stored credential, else try the loopback sign-in. */
  async init(): Promise<void> {
    // Read before anything awaits: the router rewrites `/` at once, dropping the fragment.
    const oauth = typeof location === "undefined" ? null : oauthResult(location.hash);
    if (oauth) {
      history.replaceState(null, "", takePlace()); // the token leaves the address bar and the history
      window.dispatchEvent(new PopStateEvent("popstate")); // the router follows
      if ("error" in oauth) this.error = `Sign-in failed: ${oauth.error}`;
      else if (!(await this.refreshWith(oauth.refreshToken, "oauth"))) this.error = "Sign-in failed: the server refused the sign-in";
    }
    if (!this.token) await this.local();
    this.ready = true;
  }

  private async refreshWith(refresh: string, kind: AuthKind): Promise<boolean> {
    const response = await fetch("/auth/refresh", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ refresh_token: refresh }),
    });
    if (!response.ok) return false;
    const body = (await response.json()) as { access_token: string; refresh_token: string };
    this.set(kind, body.access_token, body.refresh_token);
    return true;
  }

  async local(): Promise<boolean> {
    try {
      const response = await fetch("/auth/local-token", { method: "POST" });
      if (!response.ok) return false;
      const body = (await response.json()) as { access_token: string };
      this.set("local", body.access_token);
      return true;
    } catch {
      return false;
    }
  }

  async login(email: string, password: string): Promise<void> {
    const response = await fetch("/auth/login", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ email, password }),
    });
    if (!response.ok) {
      const body = await response.json().catch(() => ({}));
      throw new Error(body?.error?.message ?? "Sign-in failed");
    }
    const body = (await response.json()) as { access_token: string; refresh_token: string };
    this.set("password", body.access_token, body.refresh_token);
  }

  async useKey(key: string): Promise<void> {
    const response = await fetch("/auth/me", { headers: { Authorization: `Bearer ${key.trim()}` } });
    if (!response.ok) throw new Error("This API key was not accepted");
    this.set("key", key.trim());
  }

  /** After a 401: a fresh token where one can be had without asking (loopback, refresh token). */
  renew(): Promise<boolean> {
    this.renewing ??= this.doRenew().finally(() => (this.renewing = null));
    return this.renewing;
  }

  private async doRenew(): Promise<boolean> {
    if (this.kind === "local" || this.kind === null) {
      if (await this.local()) return true;
    }
    const refresh = stored(REFRESH);
    if ((this.kind === "password" || this.kind === "oauth") && refresh && (await this.refreshWith(refresh, this.kind))) {
      return true;
    }
    this.set(null, null);
    return false;
  }

  signOut(): void {
    this.set(null, null);
  }
}

export const auth = new Auth();
