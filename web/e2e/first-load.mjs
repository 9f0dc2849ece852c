// Cold first loads of the dashboard (a fresh chromium profile each: empty HTTP cache), timed
// from navigation start until the daily chart's bars are in the DOM and painted.
//   REX_WEB_URL=... REX_TOKEN=... REX_ARGS='{"runs": 10, "paths": ["/"]}' node e2e/first-load.mjs
import { env, shot, withBrowser } from "./browser.mjs";

// In the page before any script of the app: note when the daily chart says it is drawn
// (ECharts' "finished" on its canvas), then wait one frame so the time includes the paint.
const WATCH = () => {
  const seen = () => {
    if (!document.querySelector("[data-testid=daily-chart] [data-drawn=true]") || window.__firstChart) return;
    window.__firstChart = -1;
    window.__barsAt = performance.now();
    requestAnimationFrame(() => (window.__firstChart = performance.now()));
  };
  new MutationObserver(seen).observe(document, { childList: true, subtree: true, attributes: true, attributeFilter: ["data-drawn"] });
};

async function once(token, path, screenshot) {
  return withBrowser(async (page, problems) => {
    await page.addInitScript((t) => sessionStorage.setItem("rex.token", t), token);
    await page.addInitScript(WATCH);
    // The renderer's main-thread time is the load-independent part of the figure: on a busy
    // machine the wall clock grows with other processes, this does not.
    const cdp = await page.context().newCDPSession(page);
    await cdp.send("Performance.enable");
    await page.goto(`${env.url}${path}`);
    await page.waitForFunction(() => window.__firstChart > 0, null, { timeout: 30_000 });
    const metrics = Object.fromEntries((await cdp.send("Performance.getMetrics")).metrics.map((m) => [m.name, m.value]));
    const timing = await page.evaluate(() => {
      const nav = performance.getEntriesByType("navigation")[0];
      const api = performance.getEntriesByType("resource").filter((r) => r.name.includes("/api/v1/"));
      const bars = document.querySelectorAll("[data-testid=daily-chart] tbody tr").length; // days with spend
      const mark = performance.getEntriesByName("rex:first-chart")[0];
      return {
        firstChartMs: window.__firstChart,
        chartMarkMs: mark ? mark.startTime : null,
        barsInDomMs: window.__barsAt,
        apiEnds: api.map((r) => [new URL(r.name).pathname, Math.round(r.startTime), Math.round(r.responseEnd)]),
        domContentLoadedMs: nav.domContentLoadedEventEnd,
        api: api.map((r) => ({ path: new URL(r.name).pathname + new URL(r.name).search, ms: r.duration })),
        bars,
        total: document.querySelector("[data-testid=total-spend] .stat-value")?.textContent,
      };
    });
    if (screenshot) {
      await page.waitForLoadState("networkidle");
      await shot(page, screenshot);
    }
    return { ...timing, mainThreadMs: metrics.TaskDuration * 1000, scriptMs: metrics.ScriptDuration * 1000, problems };
  });
}

const { runs = 10, paths = ["/", "/?period=year"] } = env.args;
const results = {};
for (const path of paths) {
  results[path] = [];
  for (let i = 0; i < runs + 1; i++) {
    const last = i === runs ? `dashboard-10m-${path === "/" ? "month" : "year"}` : null;
    const r = await once(env.token, path, last); // the last load also leaves a screenshot
    if (i > 0) results[path].push(r); // the first load warms the servers (connections, plans)
  }
}
console.log(`RESULT ${JSON.stringify(results)}`);
