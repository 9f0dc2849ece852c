// Calendar periods in UTC for the dashboard: the current one and the one before it.
import type { PeriodName } from "../api/costs";

export interface Window {
  from: Date;
  to: Date; // exclusive
}

function startOf(period: PeriodName, at: Date): Date {
  const y = at.getUTCFullYear();
  const m = at.getUTCMonth();
  const d = at.getUTCDate();
  switch (period) {
    case "day":
      return new Date(Date.UTC(y, m, d));
    case "week": {
      const dow = (at.getUTCDay() + 6) % 7; // Monday starts the week (ISO)
      return new Date(Date.UTC(y, m, d - dow));
    }
    case "month":
      return new Date(Date.UTC(y, m, 1));
    case "quarter":
      return new Date(Date.UTC(y, m - (m % 3), 1));
    case "year":
      return new Date(Date.UTC(y, 0, 1));
  }
}

function shift(period: PeriodName, from: Date, n: number): Date {
  const t = new Date(from);
  if (period === "day") t.setUTCDate(t.getUTCDate() + n);
  else if (period === "week") t.setUTCDate(t.getUTCDate() + 7 * n);
  else if (period === "month") t.setUTCMonth(t.getUTCMonth() + n);
  else if (period === "quarter") t.setUTCMonth(t.getUTCMonth() + 3 * n);
  else t.setUTCFullYear(t.getUTCFullYear() + n);
  return t;
}

export function current(period: PeriodName, now = new Date()): Window {
  const from = startOf(period, now);
  return { from, to: shift(period, from, 1) };
}

export function previous(period: PeriodName, now = new Date()): Window {
  const { from } = current(period, now);
  return { from: shift(period, from, -1), to: from };
}

/** The days of a window as YYYY-MM-DD (the x axis of the daily chart). */
export function days(window: Window): string[] {
  const out: string[] = [];
  for (let t = new Date(window.from); t < window.to; t.setUTCDate(t.getUTCDate() + 1)) out.push(t.toISOString().slice(0, 10));
  return out;
}

export const iso = (d: Date) => d.toISOString();

/** A window as the ledger's day range: [from, to) in YYYY-MM-DD. */
export const dayRange = (w: Window) => ({ from: w.from.toISOString().slice(0, 10), to: w.to.toISOString().slice(0, 10) });
