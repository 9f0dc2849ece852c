import { describe, expect, it } from "vitest";
import { toCsv } from "./csv";

describe("ledger CSV export", () => {
  it("quotes what needs quoting and keeps decimals as written", () => {
    const csv = toCsv([{ id: "1", cost: "0.000123000000000000", note: 'say "hi", ok' }]);
    expect(csv).toBe('id,cost,note\r\n1,0.000123000000000000,"say ""hi"", ok"\r\n');
  });
  it("defuses spreadsheet formulas and writes nested values as JSON", () => {
    expect(toCsv([{ a: "=cmd()", b: { x: 1 }, c: -1.5 }])).toBe('a,b,c\r\n\'=cmd(),"{""x"":1}",-1.5\r\n');
  });
});
