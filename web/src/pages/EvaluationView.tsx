import { useEffect, useState } from "react";
import * as costs from "../api/costs";
import * as api from "../api/evaluations";
import type { Evaluation } from "../api/evaluations";
import { Loading, Panel, Problem, Stat } from "../components/ui";
import { change, formatUsd } from "../lib/money";

const FINAL = new Set(["completed", "failed", "cancelled", "canceled"]);

/** The evaluation, kept current by its event stream (or by polling when there is none). */
function useLiveEvaluation(id: string) {
  const [evaluation, setEvaluation] = useState<Evaluation | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [live, setLive] = useState<"stream" | "polling" | "done">("polling");

  useEffect(() => {
    const ctl = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const refresh = async () => {
      try {
        const e = await api.one(id);
        if (ctl.signal.aborted) return e;
        setEvaluation(e);
        setError(null);
        return e;
      } catch (err) {
        if (!ctl.signal.aborted) setError(err);
        return null;
      }
    };
    const poll = async () => {
      const e = await refresh();
      if (ctl.signal.aborted) return;
      if (e && FINAL.has(e.status)) setLive("done");
      else timer = setTimeout(poll, 1500);
    };
    (async () => {
      const first = await refresh();
      if (!first || FINAL.has(first.status) || ctl.signal.aborted) {
        if (first) setLive("done");
        return;
      }
      try {
        setLive("stream");
        await api.follow(id, (ev) => {
          if (ev.data) {
            try {
              const d = JSON.parse(ev.data) as Partial<Evaluation>;
              setEvaluation((cur) => (cur ? { ...cur, ...pickProgress(d) } : cur));
            } catch {
              /* a keep-alive or a non-JSON line */
            }
          }
        }, ctl.signal);
        if (ctl.signal.aborted) return;
        const last = await refresh();
        if (last && FINAL.has(last.status)) setLive("done");
        else poll();
      } catch {
        if (ctl.signal.aborted) return;
        setLive("polling");
        poll();
      }
    })();
    return () => {
      ctl.abort();
      clearTimeout(timer);
    };
  }, [id]);
  return { evaluation, error, live };
}

function pickProgress(d: Partial<Evaluation> & Record<string, unknown>): Partial<Evaluation> {
  const out: Partial<Evaluation> = {};
  if (typeof d.status === "string") out.status = d.status;
  if (typeof d.rows_done === "number") out.rows_done = d.rows_done;
  if (typeof d.rows_total === "number") out.rows_total = d.rows_total;
  if (d.calls !== undefined && d.calls !== null) out.calls = Number(d.calls);
  if (d.scores && typeof d.scores === "object") out.scores = d.scores;
  return out;
}

export default function EvaluationView({ id }: { id: string }) {
  const { evaluation: e, error, live } = useLiveEvaluation(id);
  const [actual, setActual] = useState<costs.EvaluationCost | null>(null);
  const done = e ? FINAL.has(e.status) : false;

  const made = Number(e?.calls ?? 0);
  const counted = Number(actual?.calls ?? 0);
  // The ledger prices calls a moment after they are made: final once it has counted them all.
  const settled = done && counted >= made;
  useEffect(() => {
    if (!e) return;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let tries = 0;
    const refresh = () =>
      costs.evaluationCost(id).then(
        (c) => {
          setActual(c);
          if (done && Number(c.calls) < made && ++tries < 120) timer = setTimeout(refresh, 1000);
        },
        () => done && ++tries < 120 && (timer = setTimeout(refresh, 1000)),
      );
    refresh();
    return () => clearTimeout(timer);
  }, [id, e?.rows_done, done, made, e]);

  if (!e) return error ? <Problem error={error} what="Evaluation" /> : <Loading what="evaluation" />;
  const pct = e.rows_total ? Math.round((100 * e.rows_done) / e.rows_total) : 0;
  const actualCost = actual?.total_cost ?? e.cost?.actual ?? e.actual_cost ?? null;
  const estimated = e.estimated_cost ?? e.cost?.estimated ?? null;
  const diff = actualCost && estimated ? change(actualCost, estimated) : null;
  const warnings = (e.warnings ?? []).map((w) => (typeof w === "string" ? w : (w.message ?? JSON.stringify(w))));

  const cancel = async () => {
    await api.cancel(id).catch(() => {});
  };

  return (
    <div className="page">
      <div className="page-head">
        <h1>{e.name ?? `Evaluation ${e.id.slice(0, 8)}`}</h1>
        {!done ? (
          <button type="button" onClick={cancel}>
            Cancel
          </button>
        ) : null}
      </div>
      <p className="muted">
        {e.metrics.join(", ")} judged by {e.judge.provider}/{e.judge.model} · project {e.project_id}
      </p>
      {warnings.length ? (
        <div className="warning" role="status">
          {warnings.map((w) => (
            <p key={w}>{w}</p>
          ))}
        </div>
      ) : null}
      <Panel title="Progress">
        <div className="progress-line">
          <progress max={e.rows_total || 1} value={e.rows_done} aria-label="Rows judged" />
          <span data-testid="progress">
            {e.rows_done} of {e.rows_total} rows ({pct}%) · <strong data-testid="status">{e.status}</strong>
          </span>
        </div>
        <p className="muted" aria-live="off" data-testid="live-mode">
          {live === "stream" ? "Live: following the evaluation's event stream." : live === "polling" ? "Refreshing every 1.5 s." : "Finished."}
        </p>
        {e.error ? <p className="error">{e.error}</p> : null}
      </Panel>
      <div className="stats">
        <Stat label="Predicted cost" value={estimated ? formatUsd(estimated) : "–"} testId="predicted" />
        <Stat
          label={settled ? "Actual cost" : done ? "Cost so far (the ledger is still pricing calls)" : "Cost so far"}
          value={actualCost ? formatUsd(actualCost) : "–"}
          testId="actual"
          hint={diff !== null && settled ? `${diff >= 0 ? "+" : ""}${diff.toFixed(1)}% vs predicted` : undefined}
        />
        <Stat label="Judge calls priced" value={actual ? `${counted} of ${made}${Number(actual.failed_calls) ? ` (${Number(actual.failed_calls)} failed)` : ""}` : "–"} />
      </div>
      <Panel title="Scores">
        {e.scores && Object.keys(e.scores).length ? (
          <table data-testid="scores">
            <caption className="sr-only">Mean score per metric</caption>
            <thead>
              <tr>
                <th scope="col">Metric</th>
                <th scope="col" className="num">Score</th>
                <th scope="col" className="num">Cost</th>
              </tr>
            </thead>
            <tbody>
              {Object.entries(e.scores).map(([metric, score]) => (
                <tr key={metric}>
                  <td>{metric}</td>
                  <td className="num">{score === null ? "–" : Number(score).toFixed(3)}</td>
                  <td className="num">{formatUsd(actual?.metrics.find((m) => m.metric === metric)?.cost ?? null)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        ) : (
          <p className="muted">Scores appear as rows are judged.</p>
        )}
      </Panel>
      {e.rows?.length ? (
        <Panel title="Rows">
          <div className="scroll" tabIndex={0} role="region" aria-label="Scores per row">
            <table>
              <caption className="sr-only">Score per row and metric</caption>
              <thead>
                <tr>
                  <th scope="col">Row</th>
                  {e.metrics.map((m) => (
                    <th key={m} scope="col" className="num">
                      {m}
                    </th>
                  ))}
                </tr>
              </thead>
              <tbody>
                {e.rows.map((r) => (
                  <tr key={r.row_index}>
                    <td>{r.row_index + 1}</td>
                    {e.metrics.map((m) => {
                      const res = r.results[m];
                      return (
                        <td key={m} className="num" title={res?.reasoning ?? undefined}>
                          {res ? (res.score === null ? res.status : res.score.toFixed(2)) : "…"}
                        </td>
                      );
                    })}
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </Panel>
      ) : null}
      <p>
        <a href="/">Back to the cost dashboard</a>
      </p>
    </div>
  );
}
