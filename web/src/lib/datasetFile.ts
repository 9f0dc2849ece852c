// Reads an uploaded dataset: a JSON array, {"rows": [...]}, or JSON Lines. CSV is left to the
// evaluator (it owns the column rules); null means "send the file as it is".
import type { Row } from "../api/evaluations";

export function parseRows(name: string, text: string): Row[] | null {
  if (/\.csv$/i.test(name)) return null;
  const trimmed = text.trim();
  let rows: unknown;
  const whole = /\.json$/i.test(name) ? JSON.parse(trimmed) : tryJson(trimmed);
  if (whole !== undefined) {
    rows = Array.isArray(whole) ? whole : whole?.rows;
  } else {
    rows = trimmed
      .split(/\r?\n/)
      .filter((l) => l.trim())
      .map((l, i) => {
        try {
          return JSON.parse(l);
        } catch {
          throw new Error(`line ${i + 1} is not JSON`);
        }
      });
  }
  if (!Array.isArray(rows) || !rows.length) throw new Error("no rows found: expected a JSON array, {\"rows\": [...]} or JSON Lines");
  return rows as Row[];
}

function tryJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined; // JSON Lines, read line by line
  }
}

export const hasGroundTruth = (rows: Row[]) => rows.every((r) => typeof r.ground_truth === "string" && r.ground_truth.length > 0);
