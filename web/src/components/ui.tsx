// Small shared pieces: panels, stats, messages, usage bars.
import type { ReactNode } from "react";
import { ApiError, isMissingRoute } from "../api/client";
import { severity } from "../lib/forecast";

export function Panel({ title, children, actions, id }: { title: string; children: ReactNode; actions?: ReactNode; id?: string }) {
  const headingId = `${id ?? title.toLowerCase().replace(/[^a-z0-9]+/g, "-")}-title`;
  return (
    <section className="panel" aria-labelledby={headingId} id={id}>
      <header className="panel-head">
        <h2 id={headingId}>{title}</h2>
        {actions}
      </header>
      {children}
    </section>
  );
}

export function Stat({ label, value, hint, testId }: { label: string; value: ReactNode; hint?: ReactNode; testId?: string }) {
  return (
    <div className="stat" data-testid={testId}>
      <div className="stat-label">{label}</div>
      <div className="stat-value">{value}</div>
      {hint ? <div className="stat-hint">{hint}</div> : null}
    </div>
  );
}

export function Problem({ error, what }: { error: unknown; what: string }) {
  if (!error) return null;
  if (isMissingRoute(error))
    return (
      <p className="note" role="status">
        {what}: this API is not available on the server yet.
      </p>
    );
  const text = error instanceof ApiError ? `${error.message} (${error.code})` : error instanceof Error ? error.message : String(error);
  return (
    <p className="error" role="alert">
      {what} failed: {text}
    </p>
  );
}

export function Loading({ what }: { what: string }) {
  return (
    <p className="muted" role="status" aria-live="polite">
      Loading {what}…
    </p>
  );
}

export function UsageBar({ percent, label }: { percent: string | number; label: string }) {
  const pct = Number(percent);
  const sev = severity(pct);
  return (
    <div className="usage">
      <div
        className={`usage-bar sev-${sev}`}
        role="progressbar"
        aria-label={label}
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={Math.round(Math.min(pct, 100))}
        aria-valuetext={`${pct.toFixed(1)} percent used`}
      >
        <span style={{ width: `${Math.min(100, Math.max(0, pct))}%` }} />
      </div>
      <span className={`usage-pct sev-text-${sev}`}>{pct.toFixed(1)}%</span>
    </div>
  );
}

export function SeverityBadge({ level }: { level: string }) {
  return <span className={`badge badge-${level}`}>{level}</span>;
}

export const fmtDate = (iso: string | null | undefined) => (iso ? new Date(iso).toLocaleString("en-GB", { dateStyle: "medium", timeStyle: "short", timeZone: "UTC" }) + " UTC" : "–");
export const fmtDay = (iso: string | null | undefined, timeZone = "UTC") => (iso ? new Date(iso).toLocaleDateString("en-GB", { dateStyle: "medium", timeZone }) : "–");

/** A budget period [start, end) as its first and last calendar day in the budget's timezone. */
export const fmtPeriod = (start: string, end: string, timeZone: string) => `${fmtDay(start, timeZone)} – ${fmtDay(new Date(new Date(end).getTime() - 1).toISOString(), timeZone)}`;
