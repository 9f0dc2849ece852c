// Launches Debian's chromium through playwright-core (no browser download), signs in, runs axe.
import { mkdtempSync, mkdirSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";

const require = createRequire(import.meta.url);
export const AXE = require.resolve("axe-core/axe.min.js");

// Without the background-networking flags chromium keeps calling home, which this closed
// network refuses many times a second.
const ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"];

export const env = {
  url: process.env.REX_WEB_URL ?? "http://127.0.0.1:8000",
  token: process.env.REX_TOKEN ?? "",
  shots: process.env.REX_SCREENSHOTS ?? "",
  chromium: process.env.REX_CHROMIUM ?? "/usr/bin/chromium",
  args: JSON.parse(process.env.REX_ARGS ?? "{}"),
};

// The ledger has no costs for an evaluation until its first call is priced: a 404 the page expects.
const expected = (r) => r.status() === 404 && /\/api\/v1\/costs\/evaluations\//.test(r.url());

/** A fresh profile (--user-data-dir) per run, removed afterwards. */
export async function withBrowser(fn) {
  const profile = mkdtempSync(join(tmpdir(), "rex-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: env.chromium,
    headless: true,
    args: ARGS,
    viewport: { width: 1366, height: 900 },
    locale: "en-GB",
    timezoneId: "UTC",
    acceptDownloads: true,
    // Lets the test inject axe-core; the page itself still sends and obeys its strict CSP.
    bypassCSP: true,
  });
  try {
    const page = context.pages()[0] ?? (await context.newPage());
    page.setDefaultTimeout(20_000);
    const problems = [];
    page.on("pageerror", (e) => problems.push(`pageerror: ${e.message}`));
    // Failed requests are judged by URL below; chromium's own console line about them is not.
    page.on("console", (m) => m.type() === "error" && !m.text().startsWith("Failed to load resource") && problems.push(`console: ${m.text()}`));
    page.on("response", (r) => r.status() >= 400 && !expected(r) && problems.push(`http ${r.status()} ${r.request().method()} ${r.url()}`));
    return await fn(page, problems);
  } finally {
    await context.close();
    rmSync(profile, { recursive: true, force: true });
  }
}

export async function signIn(page, token = env.token) {
  await page.goto(`${env.url}/`);
  await page.getByLabel("Access token").fill(token);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("navigation", { name: "Main" }).waitFor();
}

export async function shot(page, name) {
  if (!env.shots) return null;
  mkdirSync(env.shots, { recursive: true });
  const path = join(env.shots, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}

/** axe-core's WCAG 2 A/AA violations on the current page. */
export async function axe(page) {
  await page.addScriptTag({ path: AXE });
  return page.evaluate(async () => {
    const result = await window.axe.run(document, { runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"] } });
    return result.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 3).map((n) => n.target.join(" ")) }));
  });
}

/** Polls `check` (reloading the page between tries when asked) until it returns a truthy value. */
export async function until(page, check, { timeout = 60_000, reload = false, every = 500 } = {}) {
  const end = Date.now() + timeout;
  let last;
  for (;;) {
    last = await check().catch((e) => (e instanceof Error ? null : e));
    if (last) return last;
    if (Date.now() > end) throw new Error(`timed out after ${timeout} ms`);
    if (reload) await page.reload();
    await page.waitForTimeout(every);
  }
}

/** Runs one named step and prints its result as the last line: RESULT {...}. */
export async function main(steps) {
  const name = process.argv[2];
  const step = steps[name];
  if (!step) {
    console.error(`unknown step ${name}; one of ${Object.keys(steps).join(", ")}`);
    process.exit(2);
  }
  try {
    const result = await withBrowser(async (page, problems) => {
      try {
        return { ...(await step(page, env.args)), problems };
      } catch (e) {
        // What the page showed when the step failed: a screenshot and its text.
        const path = join(env.shots || tmpdir(), `failure-${name}.png`);
        await page.screenshot({ path, fullPage: true }).catch(() => {});
        const text = await page.locator("body").innerText().catch(() => "");
        throw new Error(`${e?.stack ?? e}\nurl: ${page.url()}\nscreenshot: ${path}\nproblems: ${problems.join("; ")}\npage text:\n${text.slice(0, 3000)}`);
      }
    });
    console.log(`RESULT ${JSON.stringify(result)}`);
  } catch (e) {
    console.error(e?.stack ?? String(e));
    process.exit(1);
  }
}
