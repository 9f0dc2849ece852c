import type { CheckResult } from "../api/budgets";
import type { Estimate } from "../api/evaluations";
import { Panel, Problem } from "../components/ui";
import { formatUsd } from "../lib/money";

export interface Prediction {
  estimate?: Estimate;
  check?: CheckResult;
  error?: unknown;
  checkError?: unknown;
  loading: boolean;
}

/** The predicted cost and what the budgets say about it, updated as the choices change. */
export function PredictionPanel({ prediction }: { prediction: Prediction }) {
  const { estimate, check, loading } = prediction;
  const refused = check && !check.allowed;
  return (
    <Panel title="Predicted cost" id="prediction">
      <div aria-live="polite" aria-atomic="true" data-testid="prediction">
        {loading ? <p className="muted">Predicting…</p> : null}
        {estimate ? (
          <>
            <p className="big" data-testid="estimated-cost">
              {formatUsd(estimate.estimated_cost)}
            </p>
            {estimate.per_metric.length ? (
              <table className="compact">
                <caption className="sr-only">Predicted cost per metric</caption>
                <tbody>
                  {estimate.per_metric.map((m) => (
                    <tr key={m.metric}>
                      <th scope="row">{m.metric}</th>
                      <td className="num">{formatUsd(m.cost)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            ) : null}
          </>
        ) : null}
        {!estimate && !loading && !prediction.error ? <p className="muted">Choose a dataset and at least one metric.</p> : null}
        <Problem error={prediction.error} what="Prediction" />
        <Problem error={prediction.checkError} what="Budget check" />
        {refused ? (
          <div className="refusal" role="alert" data-testid="budget-refusal">
            <strong>Refused by a hard limit.</strong>{" "}
            {check.exceeded.map((x) => `${x.budget_name}: ${formatUsd(x.usage_amount)} used${x.held_amount && Number(x.held_amount) ? ` + ${formatUsd(x.held_amount)} held` : ""} of ${formatUsd(x.limit_amount)}`).join("; ")}. This evaluation needs about {formatUsd(estimate?.estimated_cost ?? null)} and would exceed it: raise the limit, or choose fewer rows, fewer metrics or a cheaper judge.
          </div>
        ) : null}
        {check?.warnings.length ? (
          <div className="warning" role="status" data-testid="budget-warning">
            <strong>Budget warning.</strong>
            <ul>
              {check.warnings.map((w) => (
                <li key={w.budget_id}>
                  {w.budget_name}: {w.message}
                  {w.usage_percent_after ? ` (${Number(w.usage_percent_after).toFixed(1)}% after this run)` : ""}
                </li>
              ))}
            </ul>
          </div>
        ) : null}
        {check?.allowed && !check.warnings.length ? <p className="ok">Within every budget.</p> : null}
      </div>
    </Panel>
  );
}
