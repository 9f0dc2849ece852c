import { useCallback, useMemo, useState } from "react";
import * as costs from "../api/costs";
import type { GroupBy, PeriodName } from "../api/costs";
import type { Session } from "../auth";
import { DailyChart, MetricChart } from "../components/DailyChart";
import { Loading, Panel, Problem, Stat } from "../components/ui";
import { useAsync } from "../hooks";
import { change, divide, formatUsd, toNumber } from "../lib/money";
import { current, dayRange, days, previous } from "../lib/period";
import { pivot } from "../lib/pivot";
import { LedgerTable } from "./LedgerTable";
import { TopEvaluations } from "./TopEvaluations";

const PERIODS: PeriodName[] = ["day", "week", "month", "quarter", "year"];
const STACKS: GroupBy[] = ["provider", "model", "metric"];

function Change({ now, before }: { now: string; before: string }) {
  const pct = change(now, before);
  if (pct === null) return <span>no spend in the previous period</span>;
  const dir = pct > 0 ? "up" : pct < 0 ? "down" : "flat";
  return (
    <span className={`delta delta-${dir}`} data-testid="spend-change">
      {pct > 0 ? "▲" : pct < 0 ? "▼" : "■"} {Math.abs(pct).toFixed(1)}% vs previous {formatUsd(before)}
    </span>
  );
}

export function Dashboard({ session }: { session: Session }) {
  // ?period=year opens another period (links from elsewhere, the first-load benchmark).
  const [period, setPeriod] = useState<PeriodName>(() => {
    const asked = new URLSearchParams(window.location.search).get("period") as PeriodName | null;
    return asked && PERIODS.includes(asked) ? asked : "month";
  });
  const [stack, setStack] = useState<GroupBy>("provider");
  const now = current(period);
  const before = previous(period);
  const range = dayRange(now);

  const daily = useAsync((s) => costs.daily(range, stack, s), [period, stack]);
  const totals = useAsync(
    async (s) => {
      const [cur, prev] = await Promise.all([
        costs.summary(period, range, "metric", s),
        costs.summary(period, dayRange(before), "metric", s),
      ]);
      return { cur, prev };
    },
    [period],
  );
  const cachedTokens = (totals.data?.cur.tokens.cache_read_tokens ?? 0) + (totals.data?.cur.tokens.cache_write_tokens ?? 0);
  const savings = useAsync(
    async (s) => (cachedTokens ? costs.cacheSavings(await costs.summary(period, range, "model", s)) : "0"),
    [period, cachedTokens],
  );

  // The chart's rows change only with the daily data: other panels arriving do not redraw it.
  const dayList = useMemo(() => days(now), [period, now.from.getTime()]); // eslint-disable-line react-hooks/exhaustive-deps
  const chartData = useMemo(() => (daily.data ? pivot(daily.data, dayList) : null), [daily.data, dayList]);
  const cur = totals.data?.cur;
  const metricRows = (cur?.groups ?? []).map((g) => ({ key: g.key, value: toNumber(g.cost) }));
  // The daily chart comes first; the evaluations and ledger panels load once it is drawn (or
  // once it is clear there is none), so they do not compete with it for the network and CPU.
  const [drawn, setDrawn] = useState(false);
  const onDrawn = useCallback(() => setDrawn(true), []);
  const [average, setAverage] = useState<{ perRow: string | null; rows: number } | null>(null);
  const onAverage = useCallback((p: string | null, rows: number) => setAverage({ perRow: p, rows }), []);
  // The ledger's own QA-row count when it reports one, else the evaluations of the period.
  const perRow = cur?.qaRows ? { perRow: divide(cur.total, cur.qaRows), rows: cur.qaRows } : average;

  return (
    <div className="page">
      <div className="page-head">
        <h1>Cost dashboard</h1>
        <div className="controls">
          <label htmlFor="period">Period</label>
          <select
            id="period"
            value={period}
            onChange={(e) => {
              setPeriod(e.target.value as PeriodName);
              window.history.replaceState(null, "", `?period=${e.target.value}`);
            }}
          >
            {PERIODS.map((p) => (
              <option key={p} value={p}>
                this {p}
              </option>
            ))}
          </select>
        </div>
      </div>
      <p className="muted">
        Spend of <strong>{session.orgId}</strong> from {now.from.toISOString().slice(0, 10)} to {new Date(now.to.getTime() - 1).toISOString().slice(0, 10)} (UTC).
      </p>

      <div className="stats" aria-live="polite">
        <Stat
          testId="total-spend"
          label={`Total spend this ${period}`}
          value={cur ? formatUsd(cur.total) : "…"}
          hint={totals.data ? <Change now={totals.data.cur.total} before={totals.data.prev.total} /> : null}
        />
        <Stat
          testId="cache-savings"
          label="Saved by prompt caching"
          value={cur?.cacheSavings ? formatUsd(cur.cacheSavings) : savings.data ? formatUsd(savings.data) : savings.error || savings.data === null ? "unknown" : "…"}
          hint={cachedTokens ? `${cachedTokens.toLocaleString("en")} cached prompt tokens, vs. the list input price` : "no cached prompt tokens"}
        />
        <Stat testId="calls" label="Judge calls" value={cur ? (cur.calls ?? 0).toLocaleString("en") : "…"} />
        <Stat testId="cost-per-row" label="Average cost per QA row" value={perRow ? formatUsd(perRow.perRow) : "…"} hint={perRow ? (perRow.rows ? `over ${perRow.rows.toLocaleString("en")} QA rows` : "no evaluations this period") : undefined} />
      </div>
      <Problem error={totals.error} what="Totals" />

      <Panel
        title="Daily spend"
        actions={
          <fieldset className="segmented">
            <legend className="sr-only">Stack daily spend by</legend>
            {STACKS.map((s) => (
              <label key={s} className={stack === s ? "on" : undefined}>
                <input type="radio" name="stack" value={s} checked={stack === s} onChange={() => setStack(s)} />
                by {s}
              </label>
            ))}
          </fieldset>
        }
      >
        {chartData ? (
          <DailyChart data={chartData} label={`Daily spend this ${period}, stacked by ${stack}`} onDrawn={onDrawn} />
        ) : daily.error ? (
          <Problem error={daily.error} what="Daily spend" />
        ) : (
          <Loading what="daily spend" />
        )}
      </Panel>

      <div className="two">
        <Panel title="Cost per metric">
          {cur ? metricRows.length ? <MetricChart rows={metricRows} /> : <p className="muted">No judge calls in this period.</p> : <Loading what="metrics" />}
          {cur && cur.groups.length ? (
            <table className="compact">
              <caption className="sr-only">Cost per metric</caption>
              <thead>
                <tr>
                  <th scope="col">Metric</th>
                  <th scope="col" className="num">Calls</th>
                  <th scope="col" className="num">Cost</th>
                </tr>
              </thead>
              <tbody>
                {cur.groups.map((g) => (
                  <tr key={g.key}>
                    <td>{g.key}</td>
                    <td className="num">{g.calls === null ? "–" : g.calls.toLocaleString("en")}</td>
                    <td className="num">{formatUsd(g.cost)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          ) : null}
        </Panel>
        {drawn || daily.error ? <TopEvaluations from={now.from} onAverage={onAverage} /> : <Panel title="Top evaluations by cost"><Loading what="evaluations" /></Panel>}
      </div>

      {drawn || daily.error ? <LedgerTable /> : <Panel title="Recent ledger rows"><Loading what="ledger rows" /></Panel>}
    </div>
  );
}
