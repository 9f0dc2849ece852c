import { describe, expect, it } from "vitest";
import type { Budget } from "../api/budgets";
import { project, severity } from "./forecast";

const budget = (usage: string, forecast?: Budget["forecast"]): Budget => ({
  id: "b", name: "n", type: "organization", entity_id: "o", limit_amount: "100", period: "monthly",
  timezone: "UTC", thresholds: ["50", "80", "100"], is_hard_limit: true, filters: null, created_at: null, archived_at: null,
  current_period: { period_start: "2025-11-01T00:00:00Z", period_end: "2025-12-01T00:00:00Z", usage_amount: usage, usage_percent: "0", remaining: "0", events: 1 },
  forecast,
});

describe("budget forecast", () => {
  it("projects the burn rate to period end and finds the run-out date", () => {
    const p = project(budget("50"), new Date("2025-11-11T00:00:00Z"))!; // 10 of 30 days
    expect(p.projected).toBe("150.000000000000000000");
    expect(p.runOutAt?.toISOString()).toBe("2025-11-21T00:00:00.000Z");
    expect(p.fromService).toBe(false);
  });
  it("never runs out when the rate stays under the limit", () => {
    expect(project(budget("10"), new Date("2025-11-16T00:00:00Z"))!.runOutAt).toBeNull();
  });
  it("prefers the service's forecast", () => {
    const p = project(budget("10", { projected_amount: "120", run_out_at: "2025-11-28T00:00:00Z" }))!;
    expect(p).toMatchObject({ projected: "120", fromService: true });
  });
  it("colours by severity", () => {
    expect([severity("10"), severity("50"), severity("85"), severity("100")]).toEqual(["ok", "info", "warning", "critical"]);
  });
});
