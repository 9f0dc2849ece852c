import { describe, expect, it } from "vitest";
import { current, days, previous } from "./period";

const at = new Date("2025-11-26T10:00:00Z");

describe("dashboard periods", () => {
  it("aligns to calendar boundaries in UTC", () => {
    expect(current("month", at).from.toISOString()).toBe("2025-11-01T00:00:00.000Z");
    expect(current("month", at).to.toISOString()).toBe("2025-12-01T00:00:00.000Z");
    expect(current("week", at).from.toISOString()).toBe("2025-11-24T00:00:00.000Z");
    expect(current("quarter", at).from.toISOString()).toBe("2025-10-01T00:00:00.000Z");
  });
  it("gives the period before for the change", () => {
    expect(previous("month", at).from.toISOString()).toBe("2025-10-01T00:00:00.000Z");
    expect(previous("year", at).to.toISOString()).toBe("2025-01-01T00:00:00.000Z");
  });
  it("lists the days of a window", () => {
    expect(days(current("week", at))).toHaveLength(7);
    expect(days(current("month", at))[29]).toBe("2025-11-30");
  });
});
