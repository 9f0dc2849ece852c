import { describe, expect, it } from "vitest";
import { hasGroundTruth, parseRows } from "./datasetFile";

const row = { question: "q", contexts: ["c"], answer: "a" };

describe("dataset uploads", () => {
  it("reads JSON arrays, {rows} objects and JSON Lines", () => {
    expect(parseRows("d.json", JSON.stringify([row]))).toHaveLength(1);
    expect(parseRows("d.json", JSON.stringify({ name: "n", rows: [row, row] }, null, 2))).toHaveLength(2);
    expect(parseRows("d.jsonl", `${JSON.stringify(row)}\n${JSON.stringify(row)}\n`)).toHaveLength(2);
  });
  it("leaves CSV to the server and names a bad line", () => {
    expect(parseRows("d.csv", "question,answer")).toBeNull();
    expect(() => parseRows("d.jsonl", `${JSON.stringify(row)}\nnope`)).toThrow(/line 2/);
  });
  it("knows when every row has ground truth", () => {
    expect(hasGroundTruth([{ ...row, ground_truth: "g" }])).toBe(true);
    expect(hasGroundTruth([row])).toBe(false);
  });
});
