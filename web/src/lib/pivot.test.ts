import { describe, expect, it } from "vitest";
import { pivot } from "./pivot";

describe("stacking daily spend", () => {
  it("puts each key in its column and fills missing days with zero", () => {
    const p = pivot(
      [
        { day: "2025-11-01", key: "openai", cost: "1.5" },
        { day: "2025-11-01", key: "anthropic", cost: "0.5" },
        { day: "2025-11-02", key: "openai", cost: "2" },
      ],
      ["2025-11-01", "2025-11-02", "2025-11-03"],
    );
    expect(p.keys).toEqual(["openai", "anthropic"]);
    expect(p.rows[2]).toEqual({ day: "2025-11-03", openai: 0, anthropic: 0 });
  });
  it("folds the smallest keys into other", () => {
    const pts = ["a", "b", "c"].map((key, i) => ({ day: "2025-11-01", key, cost: String(3 - i) }));
    const p = pivot(pts, [], 2);
    expect(p.keys).toEqual(["a", "other"]);
    expect(p.rows[0]).toEqual({ day: "2025-11-01", a: 3, other: 3 });
  });
});
