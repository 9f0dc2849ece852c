// The budget API (/api/v1/budgets): CRUD, periods, alerts, the pre-flight check (issue 5).
import { get, post, put, del } from "./client";

export type BudgetType = "organization" | "project" | "user";
export type BudgetPeriod = "daily" | "weekly" | "monthly" | "quarterly" | "yearly";

export interface PeriodUsage {
  period_start: string;
  period_end: string;
  usage_amount: string;
  usage_percent: string;
  remaining: string;
  events: number;
  held_amount?: string;
  forecast?: Forecast | null;
}

export interface Forecast {
  status?: "ok" | "insufficient_data" | string;
  exceeds_limit?: boolean | null;
  runs_out_at?: string | null;
  projected_amount?: string | null;
  projected_spend?: string | null;
  run_out_at?: string | null;
  exhausted_at?: string | null;
  burn_rate_per_day?: string | null;
  [k: string]: unknown;
}

export interface Budget {
  id: string;
  name: string;
  type: BudgetType;
  entity_id: string;
  limit_amount: string;
  period: BudgetPeriod;
  timezone: string;
  thresholds: string[];
  is_hard_limit: boolean;
  filters: Record<string, string[]> | null;
  created_at: string | null;
  archived_at: string | null;
  current_period?: PeriodUsage | null;
  forecast?: Forecast | null;
}

export interface BudgetInput {
  name: string;
  type: BudgetType;
  entity_id?: string | null;
  limit_amount: string;
  period: BudgetPeriod;
  timezone: string;
  thresholds: string[];
  is_hard_limit: boolean;
}

export interface Alert {
  id: string;
  budget_id: string;
  budget_name?: string;
  period_start: string;
  period_end: string;
  threshold: string;
  kind: string;
  severity: "info" | "warning" | "critical" | string;
  usage_amount: string;
  limit_amount: string;
  usage_percent: string;
  is_hard_limit: boolean;
  crossed_at: string;
  acknowledged_at: string | null;
  message?: string;
  projected_amount?: string | null;
  runs_out_at?: string | null;
}

export interface Page<T> {
  items: T[];
  next_cursor: string | null;
}

export interface CheckResult {
  allowed: boolean;
  exceeded: { budget_id: string; budget_name: string; limit_amount: string; usage_amount: string; held_amount?: string }[];
  warnings: { budget_id: string; budget_name: string; message: string; usage_percent_after?: string }[];
}

export const list = () => get<Page<Budget>>("/api/v1/budgets", { limit: 100 });
export const one = (id: string) => get<Budget>(`/api/v1/budgets/${id}`);
export const create = (body: BudgetInput) => post<Budget>("/api/v1/budgets", body);
export const update = (id: string, body: Partial<BudgetInput>) => put<Budget>(`/api/v1/budgets/${id}`, body);
export const archive = (id: string) => del<Budget>(`/api/v1/budgets/${id}`);
export const periods = (id: string) => get<Page<PeriodUsage>>(`/api/v1/budgets/${id}/periods`, { limit: 24 });
export const alerts = () => get<Page<Alert>>("/api/v1/budgets/alerts", { acknowledged: false, limit: 100 });
export const acknowledge = (id: string) => post<Alert>(`/api/v1/budgets/alerts/${id}/acknowledge`);
export const check = (body: { project_id: string; user_id: string; estimated_cost: string }) => post<CheckResult>("/api/v1/budgets/check", body);
