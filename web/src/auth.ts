// The signed-in token: kept for the browser tab only (sessionStorage), never sent anywhere but
// this origin's APIs. The claims are read for display and scoping; the services verify them.

export interface Session {
  token: string;
  orgId: string;
  userId: string;
  roles: string[];
  expiresAt: Date | null;
}

const KEY = "rex.token";

function decodePart(part: string): unknown {
  const base64 = part.replace(/-/g, "+").replace(/_/g, "/");
  const padded = base64 + "=".repeat((4 - (base64.length % 4)) % 4);
  const bytes = Uint8Array.from(atob(padded), (c) => c.charCodeAt(0));
  return JSON.parse(new TextDecoder().decode(bytes));
}

/** The session a JWT describes, or an error message saying why it is not usable. */
export function parseToken(raw: string, now = new Date()): Session | string {
  const token = raw.trim().replace(/^Bearer\s+/i, "");
  const parts = token.split(".");
  if (parts.length !== 3) return "That is not a token: a JWT has three parts separated by dots.";
  let claims: Record<string, unknown>;
  try {
    claims = decodePart(parts[1] ?? "") as Record<string, unknown>;
  } catch {
    return "That token's payload cannot be read.";
  }
  const orgId = typeof claims.org_id === "string" ? claims.org_id : "";
  if (!orgId) return "That token names no organization (org_id).";
  const exp = typeof claims.exp === "number" ? new Date(claims.exp * 1000) : null;
  if (exp && exp <= now) return "That token has expired; mint a new one with `make token`.";
  const roles = Array.isArray(claims.roles) ? claims.roles.map(String) : [];
  return { token, orgId, userId: String(claims.sub ?? ""), roles, expiresAt: exp };
}

export function loadSession(): Session | null {
  const raw = sessionStorage.getItem(KEY);
  if (!raw) return null;
  const parsed = parseToken(raw);
  return typeof parsed === "string" ? null : parsed;
}

export function saveSession(session: Session): void {
  sessionStorage.setItem(KEY, session.token);
}

export function clearSession(): void {
  sessionStorage.removeItem(KEY);
}

export function canWrite(session: Session): boolean {
  return session.roles.includes("admin");
}
