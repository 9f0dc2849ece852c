// The browser half of tests/web/e2e/test_browser.py: each step drives the real app through
// nginx like a person would and reports what it saw; the Python test checks it against the APIs.
//
//   REX_WEB_URL=... REX_TOKEN=... REX_ARGS='{"name": ...}' node e2e/steps.mjs create-budget
import { axe, env, main, shot, signIn, until } from "./browser.mjs";

const UUID = /[0-9a-f-]{36}/;

async function createBudget(page, { name, limit, hard, thresholds = "50, 80, 100", shotName }) {
  await signIn(page);
  await page.getByRole("link", { name: "Budgets" }).click();
  await page.getByRole("link", { name: "New budget" }).click();
  await page.getByLabel("Name").fill(name);
  await page.getByLabel("Applies to").selectOption("organization");
  await page.getByLabel("Limit (USD)").fill(limit);
  await page.getByLabel("Period", { exact: true }).selectOption("monthly");
  await page.getByLabel(/^Timezone/).selectOption("Europe/Berlin");
  await page.getByLabel(/Alert thresholds/).fill(thresholds);
  await page.getByLabel(hard ? /Hard: refuse/ : /Soft: warn/).check();
  if (shotName) await shot(page, shotName);
  await page.getByRole("button", { name: "Create budget" }).click();
  await page.waitForURL(/\/budgets\/[0-9a-f-]{36}$/);
  await page.getByRole("heading", { name, level: 1 }).waitFor();
  return { id: page.url().match(UUID)[0], forecast: await page.getByTestId("forecast").innerText() };
}

async function submitEvaluation(page, { file, name }) {
  await signIn(page);
  await page.getByRole("link", { name: "New evaluation" }).click();
  await page.getByLabel(/Or upload one/).setInputFiles(file);
  await page.getByText(/^Uploaded /).waitFor();
  await page.getByLabel("Judge model").selectOption({ label: "OpenAI gpt-4o-mini" });
  await page.getByLabel("Name (optional)").fill(name);
  const predicted = await until(page, async () => {
    const text = await page.getByTestId("estimated-cost").innerText({ timeout: 1000 });
    const checked = await page.getByTestId("budget-warning").or(page.getByText("Within every budget.")).count();
    return checked && text.startsWith("$") ? text : null;
  });
  const warning = await page.getByTestId("budget-warning").count() ? await page.getByTestId("budget-warning").innerText() : null;
  await shot(page, "new-evaluation");
  await page.getByRole("button", { name: "Run evaluation" }).click();
  await page.waitForURL(/\/evaluations\/[0-9a-f-]{36}$/);
  const id = page.url().match(UUID)[0];
  const seen = new Set();
  const modes = new Set();
  await until(page, async () => {
    seen.add(await page.getByTestId("progress").innerText({ timeout: 1000 }));
    modes.add(await page.getByTestId("live-mode").innerText({ timeout: 1000 }));
    return (await page.getByTestId("status").innerText({ timeout: 1000 })) === "completed";
  }, { timeout: 180_000, every: 200 });
  const actual = await until(page, async () => {
    const t = await page.getByTestId("actual").innerText();
    return t.startsWith("Actual cost") ? t : null; // every call priced by the ledger
  });
  await page.getByTestId("scores").waitFor();
  await shot(page, "evaluation");
  return { id, predicted, warning, actual, progress: [...seen], modes: [...modes], scores: await page.getByTestId("scores").innerText() };
}

async function dashboard(page, { evaluationName }) {
  await signIn(page);
  const total = await until(page, async () => {
    const t = await page.getByTestId("total-spend").innerText({ timeout: 2000 });
    return /\$0\.0*[1-9]|\$[1-9]/.test(t) ? t : null;
  }, { reload: true, timeout: 60_000 });
  await page.locator("[data-testid=daily-chart] [data-drawn=true]").waitFor();
  const top = await page.getByTestId("top-evaluations").innerText();
  await page.getByTestId("ledger-rows").waitFor();
  await page.getByRole("radio", { name: "by model" }).check();
  await page.locator('[data-testid=daily-chart][data-series*="gpt-4o-mini"]').waitFor();
  const download = page.waitForEvent("download");
  await page.getByRole("button", { name: "Export CSV" }).click();
  const csvPath = await (await download).path();
  const { readFileSync } = await import("node:fs");
  const csv = readFileSync(csvPath, "utf8");
  await shot(page, "dashboard");
  return {
    total,
    listsEvaluation: top.includes(evaluationName),
    series: await page.getByTestId("daily-chart").getAttribute("data-series"),
    spendDays: await page.getByTestId("daily-chart").locator("tbody tr").count(),
    perRow: await page.getByTestId("avg-cost-per-row").innerText(),
    cacheSavings: await page.getByTestId("cache-savings").innerText(),
    csvHeader: csv.split("\n")[0],
    csvLines: csv.trim().split("\n").length,
  };
}

async function acknowledge(page, { budgetName }) {
  await signIn(page);
  await page.getByRole("link", { name: "Budgets" }).click();
  const alerts = page.getByTestId("alerts").getByRole("listitem").filter({ hasText: budgetName });
  await until(page, async () => (await alerts.count()) > 0, { reload: true });
  const before = await alerts.count();
  const critical = alerts.filter({ hasText: "critical" }).first();
  const text = await critical.innerText();
  await page.getByTestId("budgets").getByRole("row", { name: new RegExp(budgetName) }).waitFor();
  const row = await page.getByTestId("budgets").getByRole("row", { name: new RegExp(budgetName) }).getAttribute("data-severity");
  await shot(page, "budgets");
  await critical.getByRole("button", { name: /^Acknowledge/ }).click();
  await page.getByRole("status").filter({ hasText: "Acknowledged" }).waitFor({ state: "attached" });
  await until(page, async () => (await alerts.count()) === before - 1);
  return { before, after: await alerts.count(), text, rowSeverity: row };
}

async function hardLimit(page, { datasetName }) {
  await signIn(page);
  await page.getByRole("link", { name: "New evaluation" }).click();
  const option = page.getByLabel("Saved dataset").locator("option", { hasText: datasetName }).first();
  await option.waitFor({ state: "attached" });
  await page.getByLabel("Saved dataset").selectOption(await option.getAttribute("value"));
  const refusal = page.getByTestId("budget-refusal");
  await refusal.waitFor({ timeout: 30_000 });
  const button = page.getByRole("button", { name: /Refused by a hard limit|Run evaluation/ });
  await shot(page, "hard-limit");
  return { refusal: await refusal.innerText(), buttonDisabled: await button.isDisabled(), buttonText: await button.innerText() };
}

async function editBudget(page, { id, limit, thresholds }) {
  await signIn(page);
  await page.goto(`${env.url}/budgets/${id}`);
  await page.getByRole("link", { name: "Edit" }).click();
  await page.waitForURL(/\/edit$/);
  await expectValue(page.getByLabel("Limit (USD)"));
  const scopeLocked = await page.getByLabel("Applies to").isDisabled();
  await page.getByLabel("Limit (USD)").fill(limit);
  await page.getByLabel(/Alert thresholds/).fill(thresholds);
  await page.getByRole("button", { name: "Save changes" }).click();
  await page.waitForURL(new RegExp(`/budgets/${id}$`));
  await page.getByText(/Soft monthly limit of/).waitFor();
  return { scopeLocked, summary: await page.getByText(/Soft monthly limit of/).innerText() };
}

const expectValue = (locator) => until(locator.page(), async () => (await locator.inputValue()) !== "");

async function budgetDetail(page, { id }) {
  await signIn(page);
  await page.goto(`${env.url}/budgets/${id}`);
  await page.getByTestId("periods").waitFor();
  await shot(page, "budget-detail");
  return { forecast: await page.getByTestId("forecast").innerText(), periods: await page.getByTestId("periods").getByRole("row").count() - 1 };
}

/** axe on every page, and the keyboard alone from the sign-in form to another page. */
async function accessibility(page, { budgetId, evaluationId }) {
  const report = {};
  await page.goto(`${env.url}/`);
  report["sign-in"] = await axe(page);
  await shot(page, "sign-in");
  // Keyboard only: Tab to the token field, type, Tab to the button, Enter.
  await page.keyboard.press("Tab");
  const first = await page.evaluate(() => document.activeElement?.id);
  await page.keyboard.type(env.token);
  await page.keyboard.press("Tab");
  await page.keyboard.press("Enter");
  await page.getByRole("navigation", { name: "Main" }).waitFor();
  await page.keyboard.press("Tab");
  const skip = await page.evaluate(() => document.activeElement?.textContent);
  const order = [];
  for (let i = 0; i < 3; i++) {
    await page.keyboard.press("Tab");
    order.push(await page.evaluate(() => document.activeElement?.textContent));
  }
  await page.keyboard.press("Enter"); // on the third nav link
  await page.waitForURL(/\/evaluations\/new$/);
  const landedOn = new URL(page.url()).pathname;
  const paths = { dashboard: "/", budgets: "/budgets", "budget-new": "/budgets/new", "budget-detail": `/budgets/${budgetId}`, "new-evaluation": "/evaluations/new", evaluation: `/evaluations/${evaluationId}` };
  for (const [name, path] of Object.entries(paths)) {
    await page.goto(`${env.url}${path}`);
    await page.getByRole("heading", { level: 1 }).waitFor();
    await page.waitForLoadState("networkidle");
    report[name] = await axe(page);
  }
  const focusVisible = await page.evaluate(() => [...document.styleSheets].some((s) => [...s.cssRules].some((r) => r.cssText.includes(":focus-visible"))));
  return { firstFocus: first, skip, order, landedOn, violations: report, focusVisible };
}

await main({
  "create-budget": createBudget,
  "submit-evaluation": submitEvaluation,
  dashboard,
  acknowledge,
  "hard-limit": hardLimit,
  "budget-detail": budgetDetail,
  "edit-budget": editBudget,
  accessibility,
});
