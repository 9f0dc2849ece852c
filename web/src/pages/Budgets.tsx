import * as budgets from "../api/budgets";
import type { Budget } from "../api/budgets";
import type { Session } from "../auth";
import { canWrite } from "../auth";
import { fmtDay, Loading, Panel, Problem, UsageBar } from "../components/ui";
import { useAsync } from "../hooks";
import { project, runOut, severity } from "../lib/forecast";
import { formatUsd } from "../lib/money";
import { Alerts } from "./Alerts";

// The list may omit the current period; the detail route has it (usage, percent, forecast).
async function loadAll(): Promise<Budget[]> {
  const page = await budgets.list();
  return Promise.all(page.items.map((b) => (b.current_period ? b : budgets.one(b.id).catch(() => b))));
}

export default function Budgets({ session }: { session: Session }) {
  const all = useAsync(() => loadAll(), []);
  const names = new Map((all.data ?? []).map((b) => [b.id, b.name]));
  const admin = canWrite(session);
  return (
    <div className="page">
      <div className="page-head">
        <h1>Budgets</h1>
        {admin ? (
          <a className="button primary" href="/budgets/new">
            New budget
          </a>
        ) : null}
      </div>
      <Alerts names={names} canAck={session.roles.some((r) => r === "admin" || r === "member")} />
      <Panel title="Budgets of this organization">
        <Problem error={all.error} what="Budgets" />
        {!all.data && !all.error ? <Loading what="budgets" /> : null}
        {all.data && !all.data.length ? <p className="muted">No budgets yet.</p> : null}
        {all.data?.length ? (
          <table data-testid="budgets">
            <caption className="sr-only">Budgets with their current period usage</caption>
            <thead>
              <tr>
                <th scope="col">Budget</th>
                <th scope="col">Scope</th>
                <th scope="col">Period</th>
                <th scope="col" className="num">Used / limit</th>
                <th scope="col" className="usage-col">Usage</th>
                <th scope="col">Forecast run-out</th>
              </tr>
            </thead>
            <tbody>
              {all.data.map((b) => {
                const p = b.current_period;
                const f = project(b);
                return (
                  <tr key={b.id} data-severity={severity(p?.usage_percent)}>
                    <td>
                      <a href={`/budgets/${b.id}`}>{b.name}</a> <span className={`badge ${b.is_hard_limit ? "badge-hard" : "badge-soft"}`}>{b.is_hard_limit ? "hard" : "soft"}</span>
                    </td>
                    <td>
                      {b.type}
                      {b.type !== "organization" ? `: ${b.entity_id}` : ""}
                    </td>
                    <td>
                      {b.period} ({b.timezone})
                    </td>
                    <td className="num">
                      {formatUsd(p?.usage_amount ?? "0")} / {formatUsd(b.limit_amount)}
                    </td>
                    <td>
                      <UsageBar percent={p?.usage_percent ?? 0} label={`${b.name} usage`} />
                    </td>
                    <td>{(() => {
                      const r = runOut(b, f);
                      return r.at ? fmtDay(r.at.toISOString(), b.timezone) : r.text;
                    })()}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        ) : null}
      </Panel>
    </div>
  );
}
