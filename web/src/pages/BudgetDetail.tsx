import * as budgets from "../api/budgets";
import type { Session } from "../auth";
import { canWrite } from "../auth";
import { fmtDate, fmtPeriod, Loading, Panel, Problem, Stat, UsageBar } from "../components/ui";
import { useAsync } from "../hooks";
import { project, runOut } from "../lib/forecast";
import { compare, formatUsd } from "../lib/money";

export default function BudgetDetail({ session, id }: { session: Session; id: string }) {
  const budget = useAsync(() => budgets.one(id), [id]);
  const history = useAsync(() => budgets.periods(id), [id]);
  const b = budget.data;
  if (!b) return budget.error ? <Problem error={budget.error} what="Budget" /> : <Loading what="budget" />;
  const p = b.current_period;
  const f = project(b);
  const over = f ? compare(f.projected, b.limit_amount) > 0 : false;
  const out = runOut(b, f);
  const hint = !f ? "no spend yet" : out.at ? `runs out ${fmtDate(out.at.toISOString())} at the current rate` : over ? out.text : "stays within the limit at the current rate";
  return (
    <div className="page">
      <div className="page-head">
        <h1>{b.name}</h1>
        {canWrite(session) ? (
          <a className="button" href={`/budgets/${b.id}/edit`}>
            Edit
          </a>
        ) : null}
      </div>
      <p className="muted">
        {b.is_hard_limit ? "Hard" : "Soft"} {b.period} limit of {formatUsd(b.limit_amount)} for {b.type === "organization" ? "the organization" : `${b.type} ${b.entity_id}`}, periods in {b.timezone}; alerts at {b.thresholds.map((t) => `${Number(t)}%`).join(", ")}.
      </p>
      <div className="stats">
        <Stat label="Used this period" value={formatUsd(p?.usage_amount ?? "0")} hint={p ? fmtPeriod(p.period_start, p.period_end, b.timezone) : undefined} />
        <Stat label="Remaining" value={formatUsd(p?.remaining ?? b.limit_amount)} />
        <Stat testId="forecast" label="Projected at period end" value={f ? formatUsd(f.projected) : "–"} hint={hint} />
      </div>
      {p ? <UsageBar percent={p.usage_percent} label={`${b.name} usage this period`} /> : null}
      <Panel title="Period history">
        <Problem error={history.error} what="Periods" />
        {history.data ? (
          <table data-testid="periods">
            <caption className="sr-only">Usage of each period, newest first</caption>
            <thead>
              <tr>
                <th scope="col">Period</th>
                <th scope="col" className="num">Used</th>
                <th scope="col" className="num">Calls</th>
                <th scope="col" className="usage-col">Of the limit</th>
              </tr>
            </thead>
            <tbody>
              {history.data.items.map((h) => (
                <tr key={h.period_start}>
                  <td>{fmtPeriod(h.period_start, h.period_end, b.timezone)}</td>
                  <td className="num">{formatUsd(h.usage_amount)}</td>
                  <td className="num">{h.events}</td>
                  <td>
                    <UsageBar percent={h.usage_percent} label={`usage ${fmtPeriod(h.period_start, h.period_end, b.timezone)}`} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        ) : null}
      </Panel>
    </div>
  );
}
