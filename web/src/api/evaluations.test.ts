import { describe, expect, it } from "vitest";
import { normalizeEstimate, parseSse } from "./evaluations";

describe("evaluation progress stream", () => {
  it("splits events and keeps an unfinished one for the next chunk", () => {
    const { events, rest } = parseSse('event: progress\ndata: {"rows_done": 1}\n\n: keep-alive\n\nevent: completed\ndata: {}\n\nevent: pro');
    expect(events).toEqual([
      { event: "progress", data: '{"rows_done": 1}' },
      { event: "completed", data: "{}" },
    ]);
    expect(rest).toBe("event: pro");
  });
  it("joins multi-line data and reads CRLF streams", () => {
    expect(parseSse("data: a\r\ndata: b\r\n\r\n").events).toEqual([{ event: "message", data: "a\nb" }]);
  });
});

describe("cost prediction", () => {
  it("reads the breakdown per metric as a list or a map", () => {
    expect(normalizeEstimate({ estimated_cost: "0.5", per_metric: [{ metric: "faithfulness", estimated_cost: "0.5" }] }).per_metric).toEqual([{ metric: "faithfulness", cost: "0.5" }]);
    expect(normalizeEstimate({ estimated_cost: "0.5", breakdown: { faithfulness: { cost: "0.2" } } }).per_metric).toEqual([{ metric: "faithfulness", cost: "0.2" }]);
  });
});
