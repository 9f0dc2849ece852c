// A tiny router over the History API: paths are the app's pages, nginx serves index.html for
// any of them, and links are plain <a href> elements (keyboard and middle-click work).
import { useEffect, useState } from "react";

const EVENT = "rex:navigate";

export function navigate(path: string): void {
  window.history.pushState(null, "", path);
  window.dispatchEvent(new Event(EVENT));
}

export function usePath(): string {
  const [path, setPath] = useState(window.location.pathname);
  useEffect(() => {
    const update = () => setPath(window.location.pathname);
    window.addEventListener("popstate", update);
    window.addEventListener(EVENT, update);
    return () => {
      window.removeEventListener("popstate", update);
      window.removeEventListener(EVENT, update);
    };
  }, []);
  return path;
}

/** Intercepts same-origin link clicks so pages change without a reload. */
export function onLinkClick(event: React.MouseEvent<HTMLElement>): void {
  const a = (event.target as HTMLElement).closest("a");
  if (!a || a.target || a.hasAttribute("download") || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey) return;
  const url = new URL(a.href, window.location.href);
  if (url.origin !== window.location.origin || url.pathname.startsWith("/api/")) return;
  event.preventDefault();
  navigate(url.pathname + url.search);
}

/** `/budgets/:id` style matching: the params, or null. */
export function match(pattern: string, path: string): Record<string, string> | null {
  const p = pattern.split("/");
  const s = path.replace(/\/+$/, "").split("/");
  if (p.length !== s.length) return null;
  const params: Record<string, string> = {};
  for (let i = 0; i < p.length; i++) {
    const part = p[i] ?? "";
    if (part.startsWith(":")) params[part.slice(1)] = decodeURIComponent(s[i] ?? "");
    else if (part !== s[i]) return null;
  }
  return params;
}
