// Charts drawn by Apache ECharts on a canvas (only the parts used are bundled). Each chart
// also renders its numbers as a visually hidden table, for screen readers and for tests.
import { BarChart } from "echarts/charts";
import { AriaComponent, GridComponent, LegendComponent, TooltipComponent } from "echarts/components";
import * as echarts from "echarts/core";
import { CanvasRenderer } from "echarts/renderers";
import { memo, useEffect, useMemo, useRef } from "react";
import type { Pivot } from "../lib/pivot";

echarts.use([BarChart, GridComponent, TooltipComponent, LegendComponent, AriaComponent, CanvasRenderer]);

// Distinguishable for common colour-vision deficiencies, each at 3:1 or more against white.
export const PALETTE = ["#0b5cad", "#c2410c", "#047857", "#7c3aed", "#b91c1c", "#0e7490", "#a16207", "#4b5563"];

const usd = (v: number) => (v >= 100 ? `$${v.toFixed(0)}` : v >= 1 ? `$${v.toFixed(2)}` : v === 0 ? "$0" : `$${v.toPrecision(2)}`);
const AXIS = { color: "#374151", fontSize: 12 };

/** One ECharts instance in a div, resized with it, disposed on unmount. */
function useChart(option: echarts.EChartsCoreOption, onFinished?: () => void) {
  const box = useRef<HTMLDivElement>(null);
  const chart = useRef<echarts.ECharts | null>(null);
  useEffect(() => {
    const el = box.current!;
    const c = echarts.init(el, undefined, { renderer: "canvas" });
    chart.current = c;
    const resize = new ResizeObserver(() => c.resize());
    resize.observe(el);
    return () => {
      resize.disconnect();
      c.dispose();
      chart.current = null;
    };
  }, []);
  useEffect(() => {
    const c = chart.current;
    if (!c) return;
    if (onFinished) c.on("finished", onFinished);
    c.setOption(option, { notMerge: true });
    return () => {
      if (onFinished) c.off("finished", onFinished);
    };
  }, [option, onFinished]);
  return box;
}

function SeriesTable({ caption, keys, rows, x }: { caption: string; keys: string[]; rows: Record<string, string | number>[]; x: string }) {
  // The wrapper hides it: a table's own height grows with its rows whatever the CSS says.
  return (
    <div className="sr-only">
    <table>
      <caption>{caption}</caption>
      <thead>
        <tr>
          <th scope="col">{x}</th>
          {keys.map((k) => (
            <th key={k} scope="col">
              {k}
            </th>
          ))}
        </tr>
      </thead>
      <tbody>
        {rows
          .filter((r) => keys.some((k) => Number(r[k])))
          .map((r) => (
            <tr key={String(r[x])}>
              <th scope="row">{r[x]}</th>
              {keys.map((k) => (
                <td key={k}>{usd(Number(r[k]))}</td>
              ))}
            </tr>
          ))}
      </tbody>
    </table>
    </div>
  );
}

export const DailyChart = memo(function DailyChart({ data, label, onDrawn }: { data: Pivot; label: string; onDrawn?: () => void }) {
  const option = useMemo(() => ({
    animation: false,
    aria: { enabled: true, label: { description: label } },
    color: PALETTE,
    grid: { left: 64, right: 16, top: 36, bottom: 28 },
    legend: { top: 0, textStyle: { color: "#111827" } },
    tooltip: { trigger: "axis", axisPointer: { type: "shadow" }, valueFormatter: (v: unknown) => usd(Number(v)) },
    xAxis: { type: "category", data: data.rows.map((r) => String(r.day).slice(5)), axisLabel: AXIS },
    yAxis: { type: "value", axisLabel: { ...AXIS, formatter: usd }, splitLine: { lineStyle: { color: "#d1d5db", type: "dashed" } } },
    series: data.keys.map((k) => ({ name: k, type: "bar", stack: "spend", data: data.rows.map((r) => r[k]), large: data.rows.length > 200 })),
  }), [data, label]);
  const drawn = useRef(false);
  const finished = useRef(() => {
    if (drawn.current) return;
    drawn.current = true;
    // The first-load benchmark measures navigation start -> the chart drawn (data-drawn).
    if (!performance.getEntriesByName("rex:first-chart").length) performance.mark("rex:first-chart");
    box.current?.setAttribute("data-drawn", "true");
    onDrawn?.();
  }).current;
  const box = useChart(option, finished);
  return (
    <figure className="chart" data-testid="daily-chart" data-series={data.keys.join(",")}>
      <div ref={box} className="chart-canvas" style={{ height: 300 }} role="img" aria-label={`${label}: ${data.keys.join(", ") || "no spend"}`} />
      <figcaption className="sr-only">{label}</figcaption>
      <SeriesTable caption={label} keys={data.keys} rows={data.rows} x="day" />
    </figure>
  );
});

export function MetricChart({ rows }: { rows: { key: string; value: number }[] }) {
  const option = useMemo(() => ({
    animation: false,
    aria: { enabled: true, label: { description: "Cost per metric" } },
    color: PALETTE,
    grid: { left: 140, right: 24, top: 8, bottom: 24 },
    tooltip: { trigger: "axis", axisPointer: { type: "shadow" }, valueFormatter: (v: unknown) => usd(Number(v)) },
    xAxis: { type: "value", axisLabel: { ...AXIS, formatter: usd }, splitLine: { lineStyle: { color: "#d1d5db", type: "dashed" } } },
    yAxis: { type: "category", data: rows.map((r) => r.key), inverse: true, axisLabel: AXIS },
    series: [{ name: "cost", type: "bar", data: rows.map((r) => r.value) }],
  }), [rows]);
  const box = useChart(option);
  return (
    <figure className="chart" data-testid="metric-chart">
      <div ref={box} style={{ height: Math.max(120, rows.length * 36 + 40) }} role="img" aria-label="Cost per metric" />
    </figure>
  );
}
