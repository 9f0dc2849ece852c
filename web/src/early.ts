// Requests the landing page needs, started by the small entry script before the app's code
// (React, ECharts) has even been downloaded; the API client then takes the response instead
// of asking again. Keyed by the exact URL; each is taken at most once.
import { dailyUrl, summaryUrl, type GroupBy, type PeriodName } from "./api/costs";
import { current, dayRange, previous } from "./lib/period";

const early = new Map<string, Promise<Response>>();
const PERIODS: PeriodName[] = ["day", "week", "month", "quarter", "year"];

export function takeEarly(url: string): Promise<Response> | undefined {
  const found = early.get(url);
  early.delete(url);
  return found;
}

/** When a signed-in tab opens the dashboard: its chart's and totals' requests, now. */
export function startEarly(token: string | null, location: Location): void {
  if (!token || (location.pathname !== "/" && location.pathname !== "/dashboard")) return;
  const asked = new URLSearchParams(location.search).get("period") as PeriodName | null;
  const period = asked && PERIODS.includes(asked) ? asked : "month";
  const stack: GroupBy = "provider";
  const now = dayRange(current(period));
  const before = dayRange(previous(period));
  const headers = { Authorization: `Bearer ${token}`, Accept: "application/json" };
  for (const url of [dailyUrl(now, stack), summaryUrl(period, now, "metric"), summaryUrl(period, before, "metric")]) {
    early.set(url, fetch(url, { headers }));
  }
}
