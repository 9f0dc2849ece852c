"""The main job, end to end: budget, evaluation with a progress bar, then the cost report."""

import email
import email.policy
import json
import time
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
from rex_shared.auth import JwtVerifier
from rex_shared.money import display
from rich.console import Console
from rich.panel import Panel
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from rexctl.stack import Stack

console = Console()
ORG, USER = "demo-org", "demo-user"
JUDGE = {"provider": "openai", "model": "gpt-4o-mini"}
METRICS = [
    "faithfulness",
    "answer_relevancy",
    "context_precision",
    "context_recall",
    "answer_correctness",
]
# The demo budget is the prediction plus this share: small on purpose, so the run crosses the
# 50 % and 80 % thresholds (and the forecast) while staying under its limit.
HEADROOM = Decimal("0.15")
MILLION = Decimal(1_000_000)


class Api:
    """Thin JSON client over the four services with the demo's admin token."""

    def __init__(self, stack: Stack) -> None:
        token = JwtVerifier(stack.jwt_secret()).mint(sub=USER, org_id=ORG, roles=["admin"])
        self._headers = {"Authorization": f"Bearer {token}"}
        self._stack = stack

    def call(self, method: str, service: str, path: str, body: Any = None) -> Any:
        r = httpx.request(
            method,
            f"{self._stack.url(service)}{path}",
            json=body,
            headers=self._headers,
            timeout=30,
        )
        if r.status_code >= 400:
            raise RuntimeError(f"{method} {service}{path} -> {r.status_code}: {r.text}")
        return r.json()["data"]


def run_demo(stack: Stack) -> None:
    api = Api(stack)
    project = f"demo-{time.strftime('%Y%m%d-%H%M%S')}"
    dataset = json.loads(resources.files("rexctl").joinpath("data/sample_rag.json").read_text())
    request = {
        "name": dataset["name"],
        "project_id": project,
        "metrics": METRICS,
        "judge": JUDGE,
        "rows": dataset["rows"],
    }
    predicted = api.call("POST", "evaluator", "/api/v1/evaluations/estimate", request)
    limit = (Decimal(predicted["estimated_cost"]) * (1 + HEADROOM)).quantize(Decimal("0.000001"))
    budget = api.call(
        "POST",
        "budget",
        "/api/v1/budgets",
        {
            "name": f"Demo budget for {project}",
            "type": "project",
            "entity_id": project,
            "limit_amount": str(limit),
            "period": "monthly",
            "is_hard_limit": False,
        },
    )
    console.print(
        f"Predicted cost [bold]${display(Decimal(predicted['estimated_cost']), 6)}[/bold] for "
        f"{len(dataset['rows'])} rows x {len(METRICS)} metrics; budget [bold]{budget['name']}"
        f"[/bold]: ${display(limit, 6)} a month, thresholds "
        f"{', '.join(str(t) for t in budget.get('thresholds', []))} %"
    )
    created = api.call("POST", "evaluator", "/api/v1/evaluations", request)
    evaluation = _follow(api, created["id"], len(dataset["rows"]))
    ledger = _settled_ledger(api, created["id"])
    calls = _calls(api, created["id"])
    budget_now = _settled_budget(api, budget["id"], Decimal(ledger["total_cost"]))
    alerts = _alerts_for(api, budget["id"])
    _report(stack, evaluation, ledger, budget_now, alerts)
    _by_model(api, calls)
    _estimate_vs_actual(evaluation, ledger)
    _where(stack, alerts)


def _calls(api: Api, eval_id: str) -> list[Any]:
    """Every ledger row of the evaluation (the calls API is paginated by cursor)."""
    items: list[Any] = []
    cursor = None
    while True:
        query = f"/api/v1/costs/calls?evaluation_id={eval_id}&limit=500"
        page = api.call("GET", "cost-ledger", query + (f"&cursor={cursor}" if cursor else ""))
        items += page["items"]
        cursor = page.get("next_cursor")
        if not cursor:
            return items


def _by_model(api: Api, calls: list[Any]) -> None:
    """Cost per model, with what prompt caching saved: cache-read tokens at the input rate
    minus what they cost at the cache-read rate (rates from the ledger's price catalog)."""
    rows: dict[tuple[str, str], dict[str, Decimal]] = {}
    rates: dict[str, tuple[Decimal, Decimal]] = {}
    for c in calls:
        key = (c["provider"], c["model"])
        fields = ("calls", "input", "cached", "output", "cost", "saved")
        row = rows.setdefault(key, dict.fromkeys(fields, Decimal(0)))
        cost = Decimal(c["total_cost"])
        row["calls"] += 1
        row["input"] += c["input_tokens"]
        row["cached"] += c["cache_read_tokens"]
        row["output"] += c["output_tokens"]
        row["cost"] += cost
        if c["cache_read_tokens"] and c.get("price_id"):
            if c["price_id"] not in rates:
                rates[c["price_id"]] = _rates(api, c)
            full, cached = rates[c["price_id"]]
            row["saved"] += c["cache_read_tokens"] * (full - cached) / MILLION
    table = Table(title="By model")
    table.add_column("model", no_wrap=True)
    for col in ("calls", "tokens in / cached / out", "cost (USD)", "cache saved"):
        table.add_column(col, justify="right")
    for (provider, model), r in sorted(rows.items()):
        tokens = f"{r['input']:,} / {r['cached']:,} / {r['output']:,}"
        table.add_row(
            f"{provider}/{model}", f"{r['calls']:,}", tokens, display(r["cost"], 6),
            display(r["saved"], 6),
        )  # fmt: skip
    console.print(table)
    if not any(r["cached"] for r in rows.values()):
        console.print(
            "[dim]No cache reads: these judge prompts are shorter than the provider's minimum "
            "cacheable prefix (OpenAI: 1,024 tokens).[/dim]"
        )


def _rates(api: Api, call: Any) -> tuple[Decimal, Decimal]:
    """(input, cache read) $ per million tokens of the price row that priced `call`."""
    query = "/api/v1/costs/pricing?" + urlencode(
        {"provider": call["provider"], "model": call["model"], "at": call["occurred_at"]}
    )
    for item in api.call("GET", "cost-ledger", query)["items"]:
        if item["id"] == call["price_id"]:
            r = item["rates"]
            return Decimal(r["input"] or 0), Decimal(r["cache_read"] or r["input"] or 0)
    return Decimal(0), Decimal(0)  # the row is gone from the catalog: no saving claimed


def _estimate_vs_actual(evaluation: Any, ledger: Any) -> None:
    predicted = (evaluation.get("cost") or {}).get("estimate") or {}
    per_metric = predicted.get("metrics") or {}
    actual = {m["metric"]: Decimal(m["cost"]) for m in ledger.get("metrics", [])}
    table = Table(title="Estimated before the run vs actual (ledger)")
    for col in ("metric", "estimated (USD)", "actual (USD)", "difference"):
        table.add_column(col, justify="left" if col == "metric" else "right")
    for metric in sorted(set(per_metric) | set(actual)):
        est = Decimal(str((per_metric.get(metric) or {}).get("estimated_cost", "0")))
        act = actual.get(metric, Decimal(0))
        table.add_row(metric, display(est, 8), display(act, 8), _diff(est, act))
    est_total = Decimal(str(predicted.get("estimated_cost", "0")))
    act_total = Decimal(ledger["total_cost"])
    table.add_row(
        "[bold]total", display(est_total, 8), f"[bold]{display(act_total, 8)}",
        _diff(est_total, act_total),
    )  # fmt: skip
    console.print(table)


def _diff(estimated: Decimal, actual: Decimal) -> str:
    if not estimated:
        return "-"
    return f"{display((actual - estimated) / estimated * 100, 1)} %"


def _follow(api: Api, eval_id: str, rows: int) -> Any:
    with Progress(
        TextColumn("Evaluating {task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    ) as progress:
        task = progress.add_task("rows", total=rows)
        while True:
            data = api.call("GET", "evaluator", f"/api/v1/evaluations/{eval_id}")
            progress.update(task, completed=data["rows_done"])
            if data["status"] in ("completed", "failed", "cancelled"):
                return data
            time.sleep(0.3)


def _settled_ledger(api: Api, eval_id: str, quiet_s: float = 1.5, limit_s: float = 60) -> Any:
    """The evaluation's ledger once no new call has arrived for `quiet_s` seconds."""
    start, last, since = time.monotonic(), None, time.monotonic()
    with console.status("Waiting for the ledger to price every call..."):
        while time.monotonic() - start < limit_s:
            try:
                data = api.call("GET", "cost-ledger", f"/api/v1/costs/evaluations/{eval_id}")
            except RuntimeError:
                data = None
            calls = data["calls"] if data else None
            if calls != last:
                last, since = calls, time.monotonic()
            elif data and time.monotonic() - since >= quiet_s:
                return data
            time.sleep(0.3)
    raise RuntimeError("the ledger did not settle; see .rex/logs/cost-ledger.log")


def _settled_budget(api: Api, budget_id: str, total: Decimal, limit_s: float = 30) -> Any:
    deadline = time.monotonic() + limit_s
    with console.status("Waiting for the budget to count the spend..."):
        while True:
            data = api.call("GET", "budget", f"/api/v1/budgets/{budget_id}")
            period = data.get("current_period") or {}
            if Decimal(period.get("usage_amount", "0")) >= total or time.monotonic() > deadline:
                return data
            time.sleep(0.3)


def _alerts_for(api: Api, budget_id: str) -> list[Any]:
    time.sleep(1.0)  # alerts travel through Kafka a moment after the usage changes
    data = api.call("GET", "budget", "/api/v1/budgets/alerts")
    items = data["items"] if isinstance(data, dict) else data
    return [a for a in items if a["budget_id"] == budget_id]


def _report(stack: Stack, evaluation: Any, ledger: Any, budget: Any, alerts: list[Any]) -> None:
    scores = Table(title=f"Scores: {evaluation['name']} ({evaluation['status']})")
    scores.add_column("metric")
    scores.add_column("mean score", justify="right")
    for metric, score in (evaluation.get("scores") or {}).items():
        value = score.get("mean") if isinstance(score, dict) else score
        scores.add_row(metric, "-" if value is None else f"{float(value):.3f}")
    console.print(scores)
    _cost_tables(ledger)
    _budget_panel(budget, alerts)


def _where(stack: Stack, alerts: list[Any]) -> None:
    mail, slack = _delivered(stack, alerts)
    console.print(f"Alert emails: {len(mail)} in {stack.home / 'mail'} (open the .eml files)")
    console.print(f"Slack payloads: {len(slack)} in {stack.home / 'slack'}")
    console.print(
        "The APIs: "
        + ", ".join(
            f"{n} {stack.url(n)}/docs" for n in ("evaluator", "cost-ledger", "budget", "notifier")
        )
    )
    console.print(
        "Run [bold]make demo[/bold] again for another run; stop with [bold]make down[/bold]."
    )


def _delivered(stack: Stack, alerts: list[Any], limit_s: float = 15) -> tuple[list[Any], list[Any]]:
    """Alert mails and Slack payloads of these alerts, once they have all arrived."""
    deadline = time.monotonic() + limit_s
    names = {a["id"] for a in alerts}
    while True:
        mail = [p for p in (stack.home / "mail").glob("*.eml") if _mentions(p, alerts)]
        slack = [p for p in (stack.home / "slack").glob("*.json") if _mentions(p, alerts)]
        if (len(mail) >= len(names) and len(slack) >= len(names)) or time.monotonic() > deadline:
            return mail, slack
        time.sleep(0.3)


def _mentions(path: Path, alerts: list[Any]) -> bool:
    raw = path.read_bytes()
    if path.suffix == ".eml":  # bodies may be quoted-printable: decode before searching
        message = email.message_from_bytes(raw, policy=email.policy.default)
        payloads = [part.get_payload(decode=True) for part in message.walk()]
        raw = b"".join(p for p in payloads if isinstance(p, bytes))
    text = raw.decode("utf-8", "replace")
    return any(a["budget_id"] in text for a in alerts)


def _cost_tables(ledger: Any) -> None:
    table = Table(title=f"Cost of evaluation {ledger['evaluation_id']}")
    for col in ("metric", "calls", "cost (USD)"):
        table.add_column(col, justify="right" if col != "metric" else "left")
    for m in ledger.get("metrics", []):
        table.add_row(m["metric"] or "-", str(m["calls"]), display(Decimal(m["cost"]), 8))
    table.add_row(
        "[bold]total", str(ledger["calls"]), f"[bold]{display(Decimal(ledger['total_cost']), 8)}"
    )
    console.print(table)
    parts = ledger.get("cost_by_component") or {}
    if parts:
        comp = Table(title="By component")
        comp.add_column("component")
        comp.add_column("cost (USD)", justify="right")
        for name, value in parts.items():
            if Decimal(value):
                comp.add_row(name, display(Decimal(value), 8))
        console.print(comp)


def _budget_panel(budget: Any, alerts: list[Any]) -> None:
    period = budget.get("current_period") or {}
    usage = Decimal(period.get("usage_amount", "0"))
    limit = Decimal(budget["limit_amount"])
    share = min(usage / limit, Decimal(1)) if limit else Decimal(0)
    bar = "#" * int(share * 40) + "." * (40 - int(share * 40))
    colour = "red" if usage >= limit else "yellow" if share >= Decimal("0.8") else "green"
    lines = [
        f"[{colour}]{bar}[/{colour}] {display(usage, 6)} of {display(limit, 6)} USD "
        f"({display(usage / limit * 100 if limit else Decimal(0), 1)} %)"
    ]
    for a in alerts:
        lines.append(
            f"alert: {a['severity']:<8} {a.get('kind', 'actual'):<8} threshold"
            f" {a['threshold']} % at {a['crossed_at']}"
        )
    if not alerts:
        lines.append("no threshold crossed yet")
    console.print(Panel("\n".join(lines), title=f"Budget: {budget['name']}"))
