import { takeEarly } from "../early";

// One fetch wrapper for the four APIs behind this origin: bearer token, the REX envelope
// ({"success": true, "data": ...} or {"success": false, "error": {code, message, details}}).

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

type Unauthorized = () => void;

let token = "";
let onUnauthorized: Unauthorized = () => {};

export function configure(bearer: string, unauthorized: Unauthorized): void {
  token = bearer;
  onUnauthorized = unauthorized;
}

export function authHeaders(): Record<string, string> {
  return token ? { Authorization: `Bearer ${token}` } : {};
}

type Query = Record<string, string | number | boolean | null | undefined>;

export function withQuery(path: string, query: Query = {}): string {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== null && v !== undefined && v !== "") params.set(k, String(v));
  const qs = params.toString();
  return qs ? `${path}?${qs}` : path;
}

export async function errorOf(res: Response): Promise<ApiError> {
  let body: { error?: { code?: string; message?: string; details?: Record<string, unknown> }; detail?: unknown } = {};
  try {
    body = await res.json();
  } catch {
    /* not JSON: keep the status text */
  }
  const err = body.error;
  return new ApiError(res.status, err?.code ?? `HTTP_${res.status}`, err?.message ?? (res.statusText || "request failed"), err?.details ?? {});
}

export async function request<T>(method: string, path: string, body?: unknown, query?: Query, signal?: AbortSignal): Promise<T> {
  const init: RequestInit = { method, headers: { ...authHeaders(), Accept: "application/json" }, signal };
  if (body instanceof FormData) init.body = body;
  else if (body !== undefined) {
    init.body = JSON.stringify(body);
    (init.headers as Record<string, string>)["Content-Type"] = "application/json";
  }
  const url = withQuery(path, query);
  const res = (method === "GET" && (await takeEarly(url)?.catch(() => undefined))) || (await fetch(url, init));
  if (res.status === 401) onUnauthorized();
  if (!res.ok) throw await errorOf(res);
  if (res.status === 204) return undefined as T;
  const json = await res.json();
  return (json && typeof json === "object" && "data" in json ? json.data : json) as T;
}

export const get = <T>(path: string, query?: Query, signal?: AbortSignal) => request<T>("GET", path, undefined, query, signal);
export const post = <T>(path: string, body?: unknown) => request<T>("POST", path, body);
export const put = <T>(path: string, body: unknown) => request<T>("PUT", path, body);
export const del = <T>(path: string) => request<T>("DELETE", path);

/** True when the error says the route is not there (yet): the page shows a note, not a failure. */
export function isMissingRoute(err: unknown): boolean {
  return err instanceof ApiError && (err.status === 404 || err.status === 405) && /not found|no such api|method not allowed|HTTP_40/i.test(`${err.code} ${err.message}`) && !/evaluation not|budget not|alert not/i.test(err.message);
}
