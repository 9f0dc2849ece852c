import * as costs from "../api/costs";
import * as evaluations from "../api/evaluations";
import { Loading, Panel, Problem } from "../components/ui";
import { useAsync } from "../hooks";
import { add, compare, divide, formatUsd } from "../lib/money";

interface Row {
  id: string;
  name: string;
  status: string;
  rows: number;
  cost: string;
}

// The evaluator lists the period's evaluations (newest 100); the ledger prices each. The
// ledger has no "evaluations by cost" listing yet, so this asks it per evaluation, six at a time.
async function load(from: Date): Promise<Row[]> {
  const page = await evaluations.list(100);
  const recent = page.items.filter((e) => !e.created_at || new Date(e.created_at) >= from);
  const rows: Row[] = [];
  const queue = [...recent];
  const worker = async () => {
    for (let e = queue.shift(); e; e = queue.shift()) {
      const c = await costs.evaluationCost(e.id).catch(() => null);
      rows.push({ id: e.id, name: e.name ?? e.id.slice(0, 8), status: e.status, rows: Number(c?.qa_rows ?? e.rows_total), cost: c?.total_cost ?? "0" });
    }
  };
  await Promise.all(Array.from({ length: 6 }, worker));
  return rows.sort((a, b) => compare(b.cost, a.cost));
}

export function TopEvaluations({ from, onAverage }: { from: Date; onAverage: (perRow: string | null, rows: number) => void }) {
  const top = useAsync(async () => {
    const rows = await load(from);
    const qa = rows.reduce((n, r) => n + r.rows, 0);
    onAverage(divide(add(...rows.map((r) => r.cost)), qa), qa);
    return rows;
  }, [from.getTime()]);
  const rows = top.data ?? [];
  const total = add(...rows.map((r) => r.cost));
  const qaRows = rows.reduce((n, r) => n + r.rows, 0);
  const perRow = divide(total, qaRows);
  return (
    <Panel title="Top evaluations by cost">
      {top.error ? <Problem error={top.error} what="Evaluations" /> : null}
      {!top.data && !top.error ? <Loading what="evaluations" /> : null}
      {top.data && !rows.length ? <p className="muted">No evaluations in this period yet.</p> : null}
      {rows.length ? (
        <>
          <p data-testid="avg-cost-per-row">
            Average cost per QA row: <strong>{perRow ? formatUsd(perRow) : "–"}</strong> over {qaRows} rows in {rows.length} evaluation{rows.length === 1 ? "" : "s"}
          </p>
          <table className="compact" data-testid="top-evaluations">
            <caption className="sr-only">Evaluations of this period, most expensive first</caption>
            <thead>
              <tr>
                <th scope="col">Evaluation</th>
                <th scope="col">Status</th>
                <th scope="col" className="num">QA rows</th>
                <th scope="col" className="num">Cost</th>
                <th scope="col" className="num">Per row</th>
              </tr>
            </thead>
            <tbody>
              {rows.slice(0, 10).map((r) => (
                <tr key={r.id}>
                  <td>
                    <a href={`/evaluations/${r.id}`}>{r.name}</a>
                  </td>
                  <td>{r.status}</td>
                  <td className="num">{r.rows}</td>
                  <td className="num">{formatUsd(r.cost)}</td>
                  <td className="num">{formatUsd(divide(r.cost, r.rows))}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      ) : null}
    </Panel>
  );
}
