// Daily points (day, key, cost) into chart rows ({day, <key>: number}), the largest keys kept
// and the rest summed as "other" so a stacked chart stays readable.
import type { DailyPoint } from "../api/costs";
import { add, compare } from "./money";

export interface Pivot {
  keys: string[];
  rows: Record<string, string | number>[];
}

export function pivot(points: DailyPoint[], days: string[], maxKeys = 7): Pivot {
  const totals = new Map<string, string>();
  for (const p of points) totals.set(p.key, add(totals.get(p.key), p.cost));
  const ranked = [...totals.entries()].sort((a, b) => compare(b[1], a[1])).map(([k]) => k);
  const keep = new Set(ranked.slice(0, ranked.length > maxKeys ? maxKeys - 1 : maxKeys));
  const keys = ranked.filter((k) => keep.has(k));
  if (ranked.length > keys.length) keys.push("other");
  const byDay = new Map<string, Map<string, string>>();
  for (const p of points) {
    const key = keep.has(p.key) ? p.key : "other";
    const day = byDay.get(p.day) ?? new Map<string, string>();
    day.set(key, add(day.get(key), p.cost));
    byDay.set(p.day, day);
  }
  const allDays = days.length ? days : [...byDay.keys()].sort();
  const rows = allDays.map((day) => {
    const row: Record<string, string | number> = { day };
    for (const k of keys) row[k] = Number(byDay.get(day)?.get(k) ?? 0); // a coordinate to draw
    return row;
  });
  return { keys, rows };
}
