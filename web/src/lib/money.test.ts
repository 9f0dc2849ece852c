import { describe, expect, it } from "vitest";
import { add, change, compare, divide, formatUsd, fromUnits, toUnits } from "./money";

describe("money as decimal strings", () => {
  it("adds without float drift", () => {
    expect(add("0.1", "0.2")).toBe("0.300000000000000000");
    expect(add("0.000000000000000001", "1")).toBe("1.000000000000000001");
  });
  it("round-trips 18 places", () => {
    expect(fromUnits(toUnits("123.456789012345678901234"))).toBe("123.456789012345678901");
    expect(fromUnits(toUnits("-2.5"), 0)).toBe("-3");
    expect(fromUnits(toUnits("1E+2"), 0)).toBe("100");
  });
  it("compares and divides exactly", () => {
    expect(compare("10.00", "9.999999999999999999")).toBe(1);
    expect(divide("1", 3)).toBe("0.333333333333333333");
    expect(divide("1", 0)).toBeNull();
  });
  it("formats dollars with grouping and keeps tiny amounts readable", () => {
    expect(formatUsd("1234.565")).toBe("$1,234.57");
    expect(formatUsd("0")).toBe("$0.00");
    expect(formatUsd("0.000123")).toBe("$0.000123");
    expect(formatUsd("-5")).toBe("-$5.00");
    expect(formatUsd(null)).toBe("–");
  });
  it("gives the change against the previous period", () => {
    expect(change("15", "10")).toBeCloseTo(50);
    expect(change("5", "0")).toBeNull();
  });
});
