// The typed HTTP client: paths, bodies and results come from the server's OpenAPI (generated/), so a
// changed endpoint is a type error here or in the page using it.
import type { components, paths } from "./api/generated/schema";
import { auth } from "./auth.svelte";

export type Schema<N extends keyof components["schemas"]> = components["schemas"][N];
type Method = "get" | "post" | "put" | "patch" | "delete";
type Json<R> = R extends { content: { "application/json": infer T } } ? T : undefined;
type OkOf<Rs> = 200 extends keyof Rs
  ? Json<Rs[200]>
  : 201 extends keyof Rs
    ? Json<Rs[201]>
    : 202 extends keyof Rs
      ? Json<Rs[202]>
      : undefined;
type Op<P extends keyof paths, M extends Method> = NonNullable<paths[P][M]>;
export type Result<P extends keyof paths, M extends Method> = Op<P, M> extends { responses: infer Rs } ? OkOf<Rs> : never;
type BodyOf<O> = O extends { requestBody?: { content: { "application/json": infer B } } } ? B : never;
type Query = Record<string, string | number | boolean | string[] | null | undefined>;

export interface CallOptions<B> {
  path?: Record<string, string>;
  query?: Query;
  body?: B;
  signal?: AbortSignal;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export function buildUrl(template: string, path: Record<string, string> = {}, query: Query = {}): string {
  const filled = template.replace(/\{(\w+)\}/g, (_, name: string) => encodeURIComponent(path[name] ?? ""));
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (Array.isArray(value)) for (const item of value) params.append(key, item); // repeated: ?tag=a&tag=b
    else if (value !== undefined && value !== null && value !== "") params.set(key, String(value));
  }
  const qs = params.toString();
  return qs ? `${filled}?${qs}` : filled;
}

/** The error of a response in either surface's shape: `{error: {code, message}}` (platform, 001)
 * or `{success: false, error: {...}}` (003), or FastAPI's `{detail}`. */
export async function errorOf(response: Response): Promise<ApiError> {
  let code = `http_${response.status}`;
  let message = response.statusText || "Request failed";
  try {
    const body = await response.json();
    const err = body?.error ?? body;
    if (typeof err?.code === "string") code = err.code;
    if (typeof err?.message === "string") message = err.message;
    else if (typeof body?.detail === "string") message = body.detail;
  } catch {
    /* not JSON */
  }
  return new ApiError(response.status, code, message);
}

export async function request(url: string, init: RequestInit = {}, retry = true): Promise<Response> {
  const headers = new Headers(init.headers);
  const token = auth.token;
  if (token) headers.set("Authorization", `Bearer ${token}`);
  const response = await fetch(url, { ...init, headers });
  if (response.status === 401 && retry && (await auth.renew())) return request(url, init, false);
  if (!response.ok) throw await errorOf(response);
  return response;
}

export async function call<P extends keyof paths, M extends Method & keyof paths[P]>(
  method: M,
  path: P,
  options: CallOptions<BodyOf<Op<P, M>>> = {},
): Promise<Result<P, M>> {
  const init: RequestInit = { method: method.toUpperCase(), signal: options.signal };
  if (options.body !== undefined) {
    init.body = JSON.stringify(options.body);
    init.headers = { "Content-Type": "application/json" };
  }
  const response = await request(buildUrl(path as string, options.path, options.query), init);
  if (response.status === 204) return undefined as Result<P, M>;
  return (await response.json()) as Result<P, M>;
}

type Unwrapped<T> = T extends { data: infer D } ? D : T;

/** A chat-surface (/api, spec 003) call: the `data` of its `{success, data}` envelope. */
export async function chat<P extends keyof paths & `/api/${string}`, M extends Method & keyof paths[P]>(
  method: M,
  path: P,
  options: CallOptions<BodyOf<Op<P, M>>> = {},
): Promise<Unwrapped<Result<P, M>>> {
  const body = (await call(method, path, options)) as unknown as { data?: unknown } | undefined;
  return body?.data as Unwrapped<Result<P, M>>;
}

export interface Page<T> {
  items: T[];
  total: number | null;
}

/** A /v1 list, whether bare (`[...]`) or in the `{items, total, limit, offset}` envelope. */
export function listOf<T>(body: T[] | { items: T[]; total?: number } | unknown): Page<T> {
  if (Array.isArray(body)) return { items: body as T[], total: null };
  const env = body as { items?: T[]; total?: number };
  if (env && Array.isArray(env.items)) return { items: env.items, total: env.total ?? null };
  return { items: [], total: null };
}

export function items<T>(body: T[] | { items: T[] } | unknown): T[] {
  return listOf<T>(body).items;
}

/** Save a response as a file (exports, downloads). */
export async function download(url: string, fallbackName: string): Promise<void> {
  const response = await request(url);
  const blob = await response.blob();
  const disposition = response.headers.get("content-disposition") ?? "";
  const star = /filename\*=UTF-8''([^;]+)/i.exec(disposition);
  const plain = /filename="([^"]+)"/i.exec(disposition);
  const name = star ? decodeURIComponent(star[1]) : plain ? plain[1] : fallbackName;
  const link = document.createElement("a");
  link.href = URL.createObjectURL(blob);
  link.download = name;
  document.body.appendChild(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 10_000);
}
