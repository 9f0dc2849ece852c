import { useState } from "react";
import * as budgets from "../api/budgets";
import type { Alert } from "../api/budgets";
import { fmtDate, Panel, Problem, SeverityBadge } from "../components/ui";
import { useAsync } from "../hooks";
import { formatUsd } from "../lib/money";

function describe(a: Alert, names: Map<string, string>): string {
  const name = a.budget_name ?? names.get(a.budget_id) ?? "a budget";
  if (a.kind === "forecast")
    return `${name} is forecast to reach ${formatUsd(a.projected_amount ?? null)} of ${formatUsd(a.limit_amount)} this period${a.runs_out_at ? `, running out ${fmtDate(a.runs_out_at)}` : ""}`;
  return `${name} crossed ${Number(a.threshold)}%: ${formatUsd(a.usage_amount)} of ${formatUsd(a.limit_amount)}`;
}

export function Alerts({ names, canAck }: { names: Map<string, string>; canAck: boolean }) {
  const open = useAsync(() => budgets.alerts(), []);
  const [done, setDone] = useState<Set<string>>(new Set());
  const [error, setError] = useState<unknown>(null);
  const [status, setStatus] = useState("");

  const ack = async (a: Alert) => {
    try {
      await budgets.acknowledge(a.id);
      setDone((d) => new Set(d).add(a.id));
      setStatus(`Acknowledged: ${describe(a, names)}`);
    } catch (e) {
      setError(e);
    }
  };
  const rank: Record<string, number> = { critical: 0, warning: 1, info: 2 };
  // Most severe first; the service lists newest first, kept within a severity.
  const items = (open.data?.items ?? []).filter((a) => !done.has(a.id)).sort((a, b) => (rank[a.severity] ?? 3) - (rank[b.severity] ?? 3));

  return (
    <Panel title="Unacknowledged alerts" id="alerts">
      <Problem error={open.error ?? error} what="Alerts" />
      <p className="sr-only" role="status" aria-live="polite">
        {status}
      </p>
      {open.data && !items.length ? <p className="muted">No open alerts.</p> : null}
      {items.length ? (
        <ul className="alerts" data-testid="alerts">
          {items.map((a) => (
            <li key={a.id} className={`alert alert-${a.severity}`}>
              <SeverityBadge level={a.severity} />
              <span className="alert-text">
                {describe(a, names)}
                <span className="muted"> · {a.is_hard_limit ? "hard limit" : "soft limit"} · {fmtDate(a.crossed_at)}</span>
              </span>
              {canAck ? (
                <button type="button" onClick={() => ack(a)} aria-label={`Acknowledge: ${describe(a, names)}`}>
                  Acknowledge
                </button>
              ) : null}
            </li>
          ))}
        </ul>
      ) : null}
    </Panel>
  );
}
