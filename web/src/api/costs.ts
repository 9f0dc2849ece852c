// The cost-ledger API (/api/v1/costs). Shapes follow issue 4's contract; the normalizers
// accept the few spellings a field may have (cost | total_cost, key | <group name>) so the page
// keeps working while the ledger API is extended.
import { fromUnits, toUnits } from "../lib/money";
import { authHeaders, get, withQuery } from "./client";

export type GroupBy = "provider" | "model" | "metric" | "project" | "user";
export type PeriodName = "day" | "week" | "month" | "quarter" | "year";

export interface Group {
  key: string;
  cost: string;
  calls: number | null;
  tokens: Record<string, number> | null;
  cacheSavings: string | null;
  components: Record<string, string | null>;
}

export interface Summary {
  total: string;
  calls: number | null;
  groups: Group[];
  cacheSavings: string | null;
  qaRows: number | null;
  tokens: Record<string, number>;
  components: Record<string, string | null>;
}

export interface DailyPoint {
  day: string; // YYYY-MM-DD
  key: string;
  cost: string;
}

export interface LedgerRow {
  [field: string]: unknown;
}

export interface CallsPage {
  items: LedgerRow[];
  next_cursor: string | null;
}

export interface EvaluationCost {
  evaluation_id: string;
  total_cost: string | null;
  calls: number;
  failed_calls: number;
  qa_rows?: number | null;
  avg_cost_per_qa_row?: string | null;
  metrics: { metric: string | null; calls: number; cost: string | null; tokens?: Record<string, number> }[];
  tokens?: Record<string, number>;
}

type Raw = Record<string, unknown>;

const str = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));
const num = (v: unknown): number | null => (typeof v === "number" ? v : v === null || v === undefined ? null : Number(v));
// Counts may arrive as numbers or as digit strings (SUMs of bigints): numbers here.
const counts = (v: unknown): Record<string, number> => Object.fromEntries(Object.entries((v as Raw) ?? {}).map(([k, n]) => [k, Number(n)]));

function moneyOf(o: Raw, ...names: string[]): string | null {
  for (const n of names) if (o[n] !== undefined && o[n] !== null) return String(o[n]);
  return null;
}

function groupOf(g: Raw, by: string): Group {
  const key = str(g.key ?? g[by] ?? g.name ?? g.group) ?? "(none)";
  return {
    key: key === "" ? "(none)" : key,
    cost: moneyOf(g, "total_cost", "cost", "amount") ?? "0",
    calls: num(g.calls),
    tokens: g.tokens ? counts(g.tokens) : null,
    cacheSavings: moneyOf(g, "cache_savings", "cache_savings_amount"),
    components: (g.cost_by_component as Record<string, string | null>) ?? {},
  };
}

export function normalizeSummary(raw: Raw, by: string): Summary {
  const groups = (raw.groups ?? raw.items ?? []) as Raw[];
  return {
    total: moneyOf(raw, "total_cost", "total", "cost") ?? "0",
    calls: num(raw.calls),
    groups: groups.map((g) => groupOf(g, by)),
    cacheSavings: moneyOf(raw, "cache_savings", "cache_savings_amount"),
    qaRows: num(raw.qa_rows),
    tokens: counts(raw.tokens),
    components: (raw.cost_by_component as Record<string, string | null>) ?? {},
  };
}

export function normalizeDaily(raw: unknown, by: string): DailyPoint[] {
  const obj = raw as Raw;
  const list = (Array.isArray(raw) ? raw : (obj.items ?? obj.days ?? obj.points ?? obj.series ?? [])) as Raw[];
  const points: DailyPoint[] = [];
  for (const p of list) {
    const day = String(p.day ?? p.date ?? p.bucket ?? "").slice(0, 10);
    if (Array.isArray(p.groups)) {
      for (const g of p.groups as Raw[]) points.push({ day, ...pick(groupOf(g, by)) });
    } else {
      points.push({ day, key: str(p.key ?? p[by] ?? p.group) ?? "total", cost: moneyOf(p, "total_cost", "cost", "amount") ?? "0" });
    }
  }
  return points;
}

const pick = (g: Group) => ({ key: g.key, cost: g.cost });

export interface Range {
  from: string; // YYYY-MM-DD, the first day
  to: string; // YYYY-MM-DD, the day after the last (exclusive)
}

export const summaryUrl = (period: PeriodName, range: Range, groupBy: GroupBy) =>
  withQuery("/api/v1/costs/summary", { period, from: range.from, to: range.to, group_by: groupBy });
export const dailyUrl = (range: Range, groupBy: GroupBy) => withQuery("/api/v1/costs/daily", { from: range.from, to: range.to, group_by: groupBy });

export async function summary(period: PeriodName, range: Range, groupBy: GroupBy, signal?: AbortSignal): Promise<Summary> {
  return normalizeSummary(await get<Raw>(summaryUrl(period, range, groupBy), undefined, signal), groupBy);
}

export async function daily(range: Range, groupBy: GroupBy, signal?: AbortSignal): Promise<DailyPoint[]> {
  return normalizeDaily(await get<unknown>(dailyUrl(range, groupBy), undefined, signal), groupBy);
}

/** The ledger's own CSV of its rows (same columns as the JSON rows). */
export async function callsCsv(limit: number): Promise<string> {
  const res = await fetch(withQuery("/api/v1/costs/calls", { format: "csv", limit }), { headers: { ...authHeaders(), Accept: "text/csv" } });
  if (!res.ok) throw new Error(`CSV export: HTTP ${res.status}`);
  return res.text();
}

export function calls(query: { limit: number; cursor?: string | null; evaluation_id?: string }, signal?: AbortSignal): Promise<CallsPage> {
  return get<CallsPage>("/api/v1/costs/calls", query, signal);
}

export function evaluationCost(id: string, signal?: AbortSignal): Promise<EvaluationCost> {
  return get<EvaluationCost>(`/api/v1/costs/evaluations/${encodeURIComponent(id)}`, undefined, signal);
}

interface PriceRow {
  service_tier: string | null;
  batch: boolean;
  org_id: string | null;
  rates: Record<string, string | null>;
}

const guessProvider = (model: string) => (/^claude|anthropic/i.test(model) ? "anthropic" : "openai");

async function inputRate(model: string): Promise<string | null> {
  for (const provider of [guessProvider(model), guessProvider(model) === "openai" ? "anthropic" : "openai"]) {
    const page = await get<{ model_id: string | null; items: PriceRow[] }>("/api/v1/costs/pricing", { provider, model });
    const rows = page.items.filter((r) => !r.batch && (!r.service_tier || r.service_tier === "default" || r.service_tier === "standard"));
    const row = rows.find((r) => r.org_id) ?? rows[0];
    if (row?.rates.input) return row.rates.input;
  }
  return null;
}

/**
 * What prompt caching saved in a summary grouped by model: cache reads and writes priced at the
 * model's plain input rate (today's list price) minus what the ledger charged for them. Exact
 * decimals; null when a model's price is unknown.
 */
export async function cacheSavings(byModel: Summary): Promise<string | null> {
  let units = 0n;
  for (const g of byModel.groups) {
    const cached = (g.tokens?.cache_read_tokens ?? 0) + (g.tokens?.cache_write_tokens ?? 0);
    if (!cached) continue;
    const rate = await inputRate(g.key);
    if (rate === null) return null;
    const asInput = (toUnits(rate) * BigInt(cached)) / 1_000_000n; // rates are $ per million
    units += asInput - toUnits(g.components.cache_read) - toUnits(g.components.cache_write);
  }
  return fromUnits(units);
}
