// A budget period's forecast: the service's own when it sends one, else the straight-line
// projection of the period's burn rate (the same rule issue 5 describes for the service).
import type { Budget } from "../api/budgets";
import { toUnits, fromUnits } from "./money";

export interface Projection {
  projected: string; // spend at period end at the current rate
  runOutAt: Date | null; // when usage reaches the limit at that rate; null if it never does
  fromService: boolean;
}

const field = (o: Record<string, unknown> | null | undefined, ...names: string[]): string | null => {
  for (const n of names) if (o && o[n] !== null && o[n] !== undefined) return String(o[n]);
  return null;
};

export function project(budget: Budget, now = new Date()): Projection | null {
  const p = budget.current_period;
  const f = budget.forecast ?? p?.forecast ?? null;
  if (f && f.status === "insufficient_data") return null; // the service says: too early to tell
  const projectedBySvc = field(f, "projected_amount", "projected_spend", "projected_usage", "projected");
  const runOut = field(f, "run_out_at", "exhausted_at", "projected_run_out_at", "runs_out_at");
  if (projectedBySvc !== null) return { projected: projectedBySvc, runOutAt: runOut ? new Date(runOut) : null, fromService: true };
  if (!p) return null;
  const start = new Date(p.period_start).getTime();
  const end = new Date(p.period_end).getTime();
  const elapsedMs = Math.max(1, Math.min(now.getTime(), end) - start);
  const used = toUnits(p.usage_amount);
  const limit = toUnits(budget.limit_amount);
  const projected = (used * BigInt(end - start)) / BigInt(elapsedMs);
  let runOutAt: Date | null = null;
  if (used >= limit) runOutAt = now;
  else if (used > 0n) {
    const ms = start + Number((limit * BigInt(elapsedMs)) / used);
    if (ms <= end) runOutAt = new Date(ms);
  }
  return { projected: fromUnits(projected), runOutAt, fromService: false };
}

export type Severity = "ok" | "info" | "warning" | "critical";

/** Issue 5's severities: info below 80 %, warning below 100 %, critical at or above. */
export function severity(percent: string | number | null | undefined): Severity {
  const pct = Number(percent ?? 0);
  if (pct >= 100) return "critical";
  if (pct >= 80) return "warning";
  if (pct >= 50) return "info";
  return "ok";
}

/** The run-out column: already over, a date, or not at this rate. */
export function runOut(budget: Budget, projection: Projection | null): { text: string; at: Date | null } {
  if (Number(budget.current_period?.usage_percent ?? 0) >= 100) return { text: "limit already reached", at: null };
  if (!projection) return { text: "not enough data yet", at: null };
  if (!projection.runOutAt) return { text: "not at this rate", at: null };
  return { text: "", at: projection.runOutAt };
}
