import { useState } from "react";
import * as costs from "../api/costs";
import type { LedgerRow } from "../api/costs";
import { Panel, Problem } from "../components/ui";
import { useAsync } from "../hooks";
import { download, toCsv } from "../lib/csv";
import { formatUsd } from "../lib/money";

// Columns shown first when a row has them; every other field still goes to the CSV.
const PREFERRED = ["occurred_at", "provider", "model", "metric", "evaluation_id", "status", "input_tokens", "output_tokens", "total_cost"];
const MONEY = new Set(["total_cost", "cost"]);

function show(field: string, value: unknown): string {
  if (value === null || value === undefined) return "–";
  if (MONEY.has(field) && typeof value !== "object") return formatUsd(String(value), 6); // per-call amounts
  if (typeof value === "object") return JSON.stringify(value);
  if (/_at$|timestamp/.test(field)) return String(value).replace("T", " ").slice(0, 19);
  if (field.endsWith("_id") && String(value).length > 12) return `${String(value).slice(0, 8)}…`;
  return String(value);
}

export function LedgerTable() {
  const [rows, setRows] = useState<LedgerRow[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const first = useAsync(async (s) => {
    const page = await costs.calls({ limit: 50 }, s);
    setRows(page.items);
    setCursor(page.next_cursor);
    return page;
  }, []);
  const [moreError, setMoreError] = useState<unknown>(null);

  const more = async () => {
    try {
      const page = await costs.calls({ limit: 50, cursor });
      setRows((r) => [...r, ...page.items]);
      setCursor(page.next_cursor);
    } catch (e) {
      setMoreError(e);
    }
  };

  const present = new Set(rows.flatMap((r) => Object.keys(r)));
  const columns = PREFERRED.filter((c) => present.has(c));
  // The ledger writes the CSV itself (up to 10,000 newest rows); the loaded rows are the fallback.
  const exportCsv = async () => {
    const name = `rex-ledger-${new Date().toISOString().slice(0, 10)}.csv`;
    try {
      download(name, await costs.callsCsv(10_000));
    } catch {
      download(name, toCsv(rows));
    }
  };

  return (
    <Panel
      title="Recent ledger rows"
      actions={
        <button type="button" onClick={exportCsv} disabled={!rows.length}>
          Export CSV
        </button>
      }
    >
      <Problem error={first.error} what="Ledger rows" />
      <Problem error={moreError} what="More ledger rows" />
      {first.data && !rows.length ? <p className="muted">No ledger rows yet.</p> : null}
      {rows.length ? (
        <div className="scroll" tabIndex={0} role="region" aria-label="Ledger rows table">
          <table data-testid="ledger-rows">
            <caption className="sr-only">Most recent priced judge calls</caption>
            <thead>
              <tr>
                {columns.map((c) => (
                  <th key={c} scope="col" className={MONEY.has(c) || c.endsWith("tokens") ? "num" : undefined}>
                    {c.replace(/_/g, " ")}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {rows.map((r, i) => (
                <tr key={String(r.id ?? r.call_id ?? i)}>
                  {columns.map((c) => (
                    <td key={c} className={MONEY.has(c) || c.endsWith("tokens") ? "num" : undefined} title={c.endsWith("_id") ? String(r[c] ?? "") : undefined}>
                      {show(c, r[c])}
                    </td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
      {cursor ? (
        <button type="button" onClick={more}>
          Load more
        </button>
      ) : null}
    </Panel>
  );
}
